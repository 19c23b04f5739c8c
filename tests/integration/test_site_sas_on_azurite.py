"""A site's cloud credentials on Azurite, which enforces SAS permissions as Azure does.

What the local cloud hands a site (localdev/site_credentials.py: a create-only SAS on
``compliant`` and on ``anomalies``, an add-only SAS per queue of the emulated topic) lets its
edge Functions do their work, through the edge composition root as deployed, and nothing
else: no read of another site's blob, no list, no delete, no overwrite, no registry write,
no queue read. One Azurite of the module's own (the SAS names the fixed container and queue
names, which the session's Azurite shares with other tests).
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient

from edgeloop.bootstrap.edge import build_insight_filter
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.service_layer.filtering import InsightFilter
from edgeloop.wire.packing import pack_items
from localdev.azurite import REPO_ROOT, Azurite
from localdev.site_credentials import prepare_cloud_for_sites, site_cloud_access, topic_queues

SITE = "site-1"
OTHER_BLOB = "site=site-2/date=2026-01-01/hour=00/0123456789abcdef0123456789abcdef.jsonl.gz"
OTHER_BYTES = b"another site's records"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    emulator = Azurite.on_free_ports(tmp_path_factory.mktemp("site-sas-azurite"))
    emulator.add_account("site1")
    emulator.start()
    try:
        prepare_cloud_for_sites(emulator, {})
        keyed = BlobServiceClient.from_connection_string(emulator.connection_string("cloud"))
        keyed.get_blob_client("compliant", OTHER_BLOB).upload_blob(OTHER_BYTES)
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def access(cloud: Azurite) -> dict[str, str]:
    return site_cloud_access(cloud, {})


@pytest.fixture(scope="module")
def site_filter(cloud: Azurite, access: dict[str, str]) -> InsightFilter:
    settings = EdgeFunctionSettings.model_validate(
        access
        | {
            "EdgeStorage": cloud.connection_string("site1"),
            "EDGELOOP_SITE_HMAC_KEY": "site-sas-test-site-key-0123",
            "EDGELOOP_COMPLIANCE_POLICY": REPO_ROOT / "policies" / "compliance.yaml",
        }
    )
    assert settings.cloud_storage is None  # no CloudStorage at all: the SAS are all the site has
    return build_insight_filter(settings)


def insight(row: int, anomaly: bool) -> bytes:
    return orjson.dumps(
        {
            "kind": "insight",
            "schema_version": 1,
            "insight_id": f"{uuid.uuid4().hex}-{row:05d}",
            "site_id": SITE,
            "scored_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "model": {"name": "ai4i", "version": "1.0.0", "sha256": "ab" * 32},
            "inputs": {"type": "L", "torque_nm": 30.0 + row},
            "outputs": {"failure_probability": 0.95 if anomaly else 0.05},
            "anomaly": anomaly,
            "anomaly_kinds": ["risk"] if anomaly else [],
        }
    )


def site_container(access: dict[str, str], container: str) -> ContainerClient:
    """The raw SDK on the site's SAS URL: what a compromised site could try with it."""
    setting = {"compliant": "EDGELOOP_COMPLIANT_STORAGE", "anomalies": "EDGELOOP_ANOMALIES_STORAGE"}
    return ContainerClient.from_container_url(access[setting[container]])


def keyed_blobs(cloud: Azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(cloud.connection_string("cloud"))


def refused(call: Any) -> int:
    with pytest.raises(HttpResponseError) as error:
        call()
    return int(error.value.status_code)


def test_the_site_writes_its_records_and_events_with_its_sas_only(
    cloud: Azurite, site_filter: InsightFilter
) -> None:
    (body, _), *_ = pack_items([insight(0, True), insight(1, False)])
    result = site_filter.process_message(body)
    assert (result.compliant, len(result.events)) == (2, 2)  # compliant and anomalies
    for event in result.events:
        assert "sig=" not in event.blob_url  # the site's token never travels in an event
        records = gzip.decompress(
            keyed_blobs(cloud).get_blob_client(event.container, event.blob_name).download_blob().readall()
        )
        assert all(orjson.loads(line)["site_id"] == SITE for line in records.splitlines())
    global_queue = QueueClient.from_connection_string(cloud.connection_string("cloud"), "insights-global")
    assert global_queue.get_queue_properties().approximate_message_count >= 2


def test_a_redelivered_message_counts_as_written_and_leaves_the_blob_as_it_was(
    cloud: Azurite, site_filter: InsightFilter
) -> None:
    (body, _), *_ = pack_items([insight(0, False)])
    first = site_filter.process_message(body)
    (event,) = first.events
    blob = keyed_blobs(cloud).get_blob_client(event.container, event.blob_name)
    etag = blob.get_blob_properties().etag
    again = site_filter.process_message(body)  # the create-only SAS refuses the overwrite: fine
    assert [e.blob_name for e in again.events] == [event.blob_name]
    assert blob.get_blob_properties().etag == etag


def test_the_sas_cannot_read_list_delete_or_overwrite_what_is_there(
    access: dict[str, str], cloud: Azurite
) -> None:
    compliant = site_container(access, "compliant")
    other = compliant.get_blob_client(OTHER_BLOB)
    assert refused(lambda: other.download_blob().readall()) == 403
    assert refused(lambda: list(compliant.list_blobs())) == 403
    assert refused(other.delete_blob) == 403
    assert refused(lambda: other.upload_blob(b"forged", overwrite=True)) == 403
    kept = keyed_blobs(cloud).get_blob_client("compliant", OTHER_BLOB).download_blob().readall()
    assert kept == OTHER_BYTES


@pytest.mark.parametrize("container", ["compliant", "anomalies"])
def test_no_site_sas_reaches_the_registry_or_another_container(
    access: dict[str, str], container: str
) -> None:
    token = site_container(access, container).url.split("?", 1)[1]
    endpoint = site_container(access, container).url.split("?", 1)[0].rsplit("/", 1)[0]
    for target in ("models", "frames", "anomalies" if container == "compliant" else "compliant"):
        registry = ContainerClient.from_container_url(f"{endpoint}/{target}?{token}")
        blob = registry.get_blob_client("ai4i-failure/champion.json")
        assert refused(lambda blob=blob: blob.upload_blob(b"{}", overwrite=True)) == 403


def test_the_topic_sas_adds_messages_and_nothing_else(access: dict[str, str], cloud: Azurite) -> None:
    urls = access["ServiceBusConnection"].split()
    assert sorted(url.split("?")[0].rsplit("/", 1)[1] for url in urls) == sorted(topic_queues({}))
    queue = QueueClient.from_queue_url(urls[0])
    queue.send_message("an event")
    assert refused(lambda: queue.peek_messages()) == 403
    assert refused(lambda: list(queue.receive_messages())) == 403
    assert refused(queue.clear_messages) == 403
    token = urls[0].split("?", 1)[1]
    other = QueueClient.from_queue_url(f"{urls[0].split('?')[0].rsplit('/', 1)[0]}/retrain-requests?{token}")
    assert refused(lambda: other.send_message("train")) == 403


def test_the_settings_refuse_the_account_key_for_a_site(cloud: Azurite) -> None:
    from edgeloop.config.connections import ConnectionSettingError

    settings = EdgeFunctionSettings.model_validate(
        {
            "EDGELOOP_COMPLIANT_STORAGE": cloud.connection_string("cloud"),
            "EDGELOOP_ANOMALIES_STORAGE": cloud.connection_string("cloud"),
        }
    )
    with pytest.raises(ConnectionSettingError, match="EDGELOOP_COMPLIANT_STORAGE: must be a SAS"):
        settings.cloud_write_connections()
