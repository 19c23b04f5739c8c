"""STORAGE_API_VERSION end to end on an Azurite that checks the API version (no --skipApiVersionCheck).

Azure Stack Hub refuses Storage API versions newer than its stamp knows; this Azurite refuses
versions newer than its own (the SDK's default is one of those), so a client that ignores the
setting fails here as it would there. The edge path runs in-process with the real composition
roots: the scoring app's relay sender (SDK for the queue, plain POSTs for messages) puts a packed
batch on the site queue, the filter reads it and writes the compliant blob, the site's audit and
the events. Azurite's debug log records every request's headers: all must carry the set version.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.bootstrap.edge import build_insight_filter
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.config.scoring import ScoringSettings
from edgeloop.wire.packing import pack_items
from localdev.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[2]
# Old enough for Azure Stack Hub (2008 and later), known to both this SDK and this Azurite.
STACK_HUB_VERSION = "2019-07-07"
_REQUEST_HEADERS = re.compile(r"RequestHeaders:(\{[^}]*\})")


@pytest.fixture(scope="module")
def strict_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    emulator = Azurite.on_free_ports(tmp_path_factory.mktemp("azurite-strict"), skip_api_version_check=False)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


def log_size(azurite: Azurite) -> int:
    return azurite.debug_log.stat().st_size if azurite.debug_log.exists() else 0


def sent_requests(azurite: Azurite, since: int) -> list[tuple[str, str]]:
    """(user agent's product, x-ms-version) of each request Azurite logged after byte ``since``."""
    with azurite.debug_log.open("rb") as log:
        log.seek(since)
        text = log.read().decode("utf-8", errors="replace")
    headers = [orjson.loads(found) for found in _REQUEST_HEADERS.findall(text)]
    return [(h.get("user-agent", "").split("/")[0], h.get("x-ms-version", "")) for h in headers]


def insight(site: str, row: int) -> bytes:
    return orjson.dumps(
        {
            "kind": "insight",
            "schema_version": 1,
            "insight_id": f"{uuid.uuid4().hex}-{row:05d}",
            "site_id": site,
            "scored_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "model": {"name": "ai4i", "version": "1.0.0", "sha256": "ab" * 32},
            "inputs": {"type": "L", "torque_nm": 30.0 + row},
            "outputs": {"failure_probability": 0.95 if row == 0 else 0.05},
            "anomaly": row == 0,
            "anomaly_kinds": ["risk"] if row == 0 else [],
        }
    )


def test_strict_azurite_refuses_the_sdk_default_version(strict_azurite: Azurite) -> None:
    # Without the setting the SDK sends its newest version: this Azurite, like Stack Hub, says no.
    queue = QueueClient.from_connection_string(strict_azurite.connection_string("edge"), "default-version")
    with pytest.raises(HttpResponseError) as refused:
        queue.create_queue()
    assert refused.value.status_code == 400


def test_edge_path_sends_the_set_version_on_every_request(strict_azurite: Azurite) -> None:
    since = log_size(strict_azurite)
    edge, cloud = strict_azurite.connection_string("edge"), strict_azurite.connection_string("cloud")
    queue, site = f"ins-{uuid.uuid4().hex[:12]}", f"site-{uuid.uuid4().hex[:8]}"
    scoring = ScoringSettings.model_validate(
        {"EdgeStorage": edge, "INSIGHTS_QUEUE": queue, "STORAGE_API_VERSION": STACK_HUB_VERSION}
    )
    sender = StorageQueueSender(
        scoring.resolve_edge_storage("queue"), queue, clients=AzureClients.from_settings(scoring)
    )
    assert sender.plain_http  # the messages go as plain POSTs, which set x-ms-version themselves
    (body, _), *_ = pack_items([insight(site, row) for row in range(5)])
    sender.send(body)

    filtering = EdgeFunctionSettings.model_validate(
        {
            "EdgeStorage": edge,
            "CloudStorage": cloud,
            "ServiceBusConnection": cloud,
            "INSIGHTS_QUEUE": queue,
            "EDGELOOP_INSIGHTS_TOPIC": f"t{uuid.uuid4().hex[:12]}",
            "EDGELOOP_SITE_HMAC_KEY": "integration-test-site-key-0123",
            "EDGELOOP_COMPLIANCE_POLICY": REPO_ROOT / "policies" / "compliance.yaml",
            "STORAGE_API_VERSION": STACK_HUB_VERSION,
        }
    )
    clients = AzureClients.from_settings(filtering)
    site_queue = clients.queue(
        filtering.resolve_edge_storage("queue"), queue, message_decode_policy=BinaryBase64DecodePolicy()
    )
    (message,) = site_queue.receive_messages(max_messages=5)
    result = build_insight_filter(filtering).process_message(message.content)
    assert result.compliant == 5

    cloud_blobs = clients.blob_service(filtering.resolve_cloud_storage("blob"))
    compliant = cloud_blobs.get_container_client("compliant")
    assert [b.name for b in compliant.list_blobs(name_starts_with=f"site={site}/")]
    requests = sent_requests(strict_azurite, since)
    assert {version for _, version in requests} == {STACK_HUB_VERSION}, requests
    # The relay's plain POST, the queue SDK (create, read, events) and the blob SDK all sent it.
    assert {"python-urllib3", "azsdk-python-storage-queue", "azsdk-python-storage-blob"} <= {
        agent for agent, _ in requests
    }, requests
