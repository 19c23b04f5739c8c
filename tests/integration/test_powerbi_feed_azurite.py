"""The Power BI feed end to end: compliant blob in Azurite -> event -> ``feed_powerbi`` -> rows.

Real parts: Azurite (blobs, and the ``insights-powerbi`` queue that stands in
for the Service Bus subscription), the SQLite ledger, the local sink's files,
the Functions host's envelope code (localdev.functions_host.messages). No Power
BI exists here: the ``service`` mode runs against the local stand-in server
(tests/support/fake_powerbi_server.py), which enforces the push limits.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import orjson
import pytest
from azure.functions.servicebus import ServiceBusMessage
from azure.storage.queue import QueueClient
from support.fake_powerbi_server import FakePowerBI

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.powerbi_client import (
    PowerBIClient,
    PowerBIPushSink,
    PowerBIUnavailable,
    RateLimits,
    RetryPolicy,
    StaticTokenProvider,
)
from edgeloop.adapters.powerbi_local_sink import LocalRowSink
from edgeloop.adapters.queue_publisher import QueueEventPublisher
from edgeloop.adapters.sqlite_delivery_ledger import SqliteDeliveryLedger
from edgeloop.domain.powerbi_schema import INSIGHTS_TABLE, VALUES_TABLE, dataset_definition
from edgeloop.ports import BlobWrittenEvent
from edgeloop.service_layer.powerbi_feed import PowerBIFeed
from edgeloop.wire.claim_check import ClaimCheckError
from edgeloop.wire.messaging import subscription_queue
from edgeloop.wire.servicebus_envelope import parse_envelope
from functions import cloud_powerbi, dependencies
from localdev.azurite import Azurite
from localdev.functions_host.messages import decode_body, to_service_bus_message

# Pacing is tested in test_powerbi_client.py; here it would only add minutes (1M rows/hour).
UNPACED = RateLimits(requests_per_minute=60_000, request_burst=100, rows_per_hour=10**9)


def wire_insight(index: int) -> dict[str, Any]:
    return {
        "kind": "insight", "schema_version": 1,
        "insight_id": f"{uuid.UUID(int=index).hex}-{index % 100_000:05d}", "site_id": "site-a",
        "scored_at": "2025-03-01T12:00:00.000000Z",
        "model": {"name": "ai4i", "version": "1", "sha256": "0" * 64},
        "inputs": {"torque_nm": 40.5, "tool_wear_min": 12, "type": "L"}, "outputs": {"risk": 0.25},
        "anomaly": index % 10 == 0, "anomaly_kinds": ["risk"] if index % 10 == 0 else [],
        "context": {"product_id": "hmac-sha256:ab12"},
    }  # fmt: skip


def write_compliant_blob(store: AzureBlobStore, count: int) -> BlobWrittenEvent:
    name = f"site=site-a/date=2025-03-01/hour=12/{uuid.uuid4().hex}.jsonl.gz"
    data = gzip.compress(b"".join(orjson.dumps(wire_insight(i)) + b"\n" for i in range(count)))
    url = store.put("compliant", name, data, content_type="application/gzip")
    return BlobWrittenEvent(
        message_id=f"compliant/{name}", subject="compliant", blob_url=url, container="compliant",
        blob_name=name, site_id="site-a", record_count=count, insight_count=count, feedback_count=0,
    )  # fmt: skip


@pytest.fixture
def store(azurite: Azurite) -> AzureBlobStore:
    return AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))


@pytest.fixture
def power_bi() -> Iterator[FakePowerBI]:
    with FakePowerBI(token="local-token") as server:
        yield server


@pytest.mark.slow
def test_10001_insights_go_out_in_chunks_of_10000_exactly_once(
    store: AzureBlobStore, power_bi: FakePowerBI, tmp_path: Path
) -> None:
    dataset = power_bi.add_dataset(dataset_definition())
    client = PowerBIClient(
        power_bi.base_url, power_bi.group_id, StaticTokenProvider(power_bi.token), limits=UNPACED
    )
    feed = PowerBIFeed(
        store, PowerBIPushSink(client, dataset), SqliteDeliveryLedger(tmp_path / "ledger.sqlite3")
    )
    event = write_compliant_blob(store, 10_001)

    result = feed.deliver(event)
    assert result.pushed_rows == {INSIGHTS_TABLE: 10_001, VALUES_TABLE: 50_005}
    assert power_bi.statuses() == [200] * (2 + 6)  # Insights: 10,000 + 1; values: 5 x 10,000 + 5
    feed.deliver(event)  # the event redelivered: the ledger skips every chunk
    assert power_bi.statuses() == [200] * 8
    insight_ids = [r["insight_id"] for r in power_bi.rows(dataset, INSIGHTS_TABLE)]
    assert len(insight_ids) == len(set(insight_ids)) == 10_001
    assert len(power_bi.rows(dataset, VALUES_TABLE)) == 50_005
    client.close()


def test_a_failure_mid_blob_is_resumed_without_duplicates(
    store: AzureBlobStore, power_bi: FakePowerBI, tmp_path: Path
) -> None:
    dataset = power_bi.add_dataset(dataset_definition())
    client = PowerBIClient(
        power_bi.base_url, power_bi.group_id, StaticTokenProvider(power_bi.token),
        retry=RetryPolicy(max_attempts=2, backoff_seconds=0.01), limits=UNPACED,
    )  # fmt: skip
    ledger = SqliteDeliveryLedger(tmp_path / "ledger.sqlite3")
    feed = PowerBIFeed(store, PowerBIPushSink(client, dataset), ledger, rows_per_push=40)
    event = write_compliant_blob(store, 100)  # Insights: chunks of 40, 40, 20

    power_bi.fail_next(503, count=2, after=1)  # the second chunk fails both attempts
    with pytest.raises(PowerBIUnavailable):
        feed.deliver(event)
    assert len(power_bi.rows(dataset, INSIGHTS_TABLE)) == 40
    feed.deliver(event)  # the event redelivered
    ids = [r["insight_id"] for r in power_bi.rows(dataset, INSIGHTS_TABLE)]
    assert len(ids) == len(set(ids)) == 100
    assert len(power_bi.rows(dataset, VALUES_TABLE)) == 500
    assert power_bi.statuses().count(200) == 3 + 13  # each chunk accepted exactly once
    client.close()


def receive_as_service_bus_message(connection: str, queue_name: str) -> func.ServiceBusMessage:
    """What the local Functions host hands a topic-triggered function (docs/functions-host.md)."""
    queue = QueueClient.from_connection_string(connection, queue_name)
    message = queue.receive_message(visibility_timeout=30)
    assert message is not None
    envelope = parse_envelope(decode_body(message.content, "base64"))
    return to_service_bus_message(envelope, message, None)


@pytest.mark.parametrize("mode", ["local", "service"])
def test_feed_powerbi_function_takes_the_published_event(
    azurite: Azurite, store: AzureBlobStore, power_bi: FakePowerBI, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, mode: str,
) -> None:  # fmt: skip
    connection = azurite.connection_string("cloud")
    topic = f"t{uuid.uuid4().hex[:12]}"
    event = write_compliant_blob(store, 25)
    QueueEventPublisher.from_connection_string(connection, topic, ["powerbi"]).publish([event])
    message = receive_as_service_bus_message(connection, subscription_queue(topic, "powerbi"))
    assert message.message_id == event.message_id

    dataset = power_bi.add_dataset(dataset_definition())
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    monkeypatch.setenv("CloudStorage", connection)
    monkeypatch.setenv("POWERBI_MODE", mode)
    monkeypatch.setenv("POWERBI_SINK_DIR", str(tmp_path / "sink"))
    monkeypatch.setenv("POWERBI_LEDGER_PATH", str(tmp_path / "ledger.sqlite3"))
    monkeypatch.setenv("POWERBI_API_BASE_URL", power_bi.base_url)
    monkeypatch.setenv("POWERBI_GROUP_ID", power_bi.group_id)
    monkeypatch.setenv("POWERBI_DATASET_ID", dataset)
    monkeypatch.setenv("POWERBI_ACCESS_TOKEN", power_bi.token)
    dependencies.powerbi_feed.override(None)
    try:
        cloud_powerbi.feed_powerbi(message)
        cloud_powerbi.feed_powerbi(message)  # redelivered
    finally:
        dependencies.powerbi_feed.override(None)

    if mode == "local":
        rows = LocalRowSink(tmp_path / "sink" / "edgeloop-insights").read_rows(INSIGHTS_TABLE)
        assert power_bi.statuses() == []
    else:
        rows = power_bi.rows(dataset, INSIGHTS_TABLE)
        assert power_bi.statuses() == [200, 200]  # Insights, InsightValues; nothing on redelivery
    assert sorted(str(r["insight_id"]) for r in rows) == sorted(
        wire_insight(i)["insight_id"] for i in range(25)
    )


def test_a_malformed_event_fails_the_invocation_naming_the_field(
    store: AzureBlobStore, tmp_path: Path
) -> None:
    sink = LocalRowSink(tmp_path / "sink")
    feed = PowerBIFeed(store, sink, SqliteDeliveryLedger(tmp_path / "ledger.sqlite3"))
    message = ServiceBusMessage(
        body=orjson.dumps({"container": "compliant"}), message_id="m-1",
        application_properties={}, user_properties={},
    )  # fmt: skip
    dependencies.powerbi_feed.override(feed)
    try:
        with pytest.raises(ClaimCheckError, match=r"event\.message_id"):
            cloud_powerbi.feed_powerbi(message)
    finally:
        dependencies.powerbi_feed.override(None)
    assert sink.read_rows(INSIGHTS_TABLE) == []
