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

import orjson
import pytest
from azure.functions.servicebus import ServiceBusMessage
from support.fake_powerbi_server import FakePowerBI
from support.powerbi_function import feed_powerbi_as_configured, published_to_powerbi
from support.powerbi_records import (
    binary_dataset,
    feedback,
    multiclass_dataset,
    multiclass_insight,
    regression_dataset,
    regression_insight,
)

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
from edgeloop.adapters.sqlite_delivery_ledger import SqliteDeliveryLedger
from edgeloop.domain.powerbi_dataset import PowerBIDataset, service_body
from edgeloop.domain.powerbi_schema import FEEDBACK_TABLE, INSIGHTS_TABLE, VALUES_TABLE
from edgeloop.ports import BlobWrittenEvent
from edgeloop.service_layer.powerbi_feed import PowerBIFeed
from edgeloop.wire.claim_check import ClaimCheckError
from functions import cloud_powerbi, dependencies
from localdev.azurite import Azurite

# Pacing is tested in test_powerbi_client.py; here it would only add minutes (1M rows/hour).
UNPACED = RateLimits(requests_per_minute=60_000, request_burst=100, rows_per_hour=10**9)
DEMO = binary_dataset()


def dataset_definition(dataset: PowerBIDataset = DEMO) -> dict[str, Any]:
    return service_body(dataset.definition())


def wire_insight(index: int) -> dict[str, Any]:
    return {
        "kind": "insight", "schema_version": 1,
        "insight_id": f"{uuid.UUID(int=index).hex}-{index % 100_000:05d}", "site_id": "site-a",
        "scored_at": "2025-03-01T12:00:00.000000Z",
        "model": {"name": "ai4i", "version": "1", "sha256": "0" * 64},
        "inputs": {"torque_nm": 40.5, "tool_wear_min": 12, "type": "L"},
        "outputs": {"failure_probability": 0.25},
        "anomaly": index % 10 == 0, "anomaly_kinds": ["risk"] if index % 10 == 0 else [],
        "context": {"product_id": "hmac-sha256:ab12"},
    }  # fmt: skip


def write_compliant_blob(
    store: AzureBlobStore, count: int, records: list[dict[str, Any]] | None = None
) -> BlobWrittenEvent:
    name = f"site=site-a/date=2025-03-01/hour=12/{uuid.uuid4().hex}.jsonl.gz"
    records = records if records is not None else [wire_insight(i) for i in range(count)]
    insights = sum(1 for record in records if record["kind"] == "insight")
    data = gzip.compress(b"".join(orjson.dumps(record) + b"\n" for record in records))
    url = store.put("compliant", name, data, content_type="application/gzip")
    return BlobWrittenEvent(
        message_id=f"compliant/{name}", subject="compliant", blob_url=url, container="compliant",
        blob_name=name, site_id="site-a", record_count=len(records), insight_count=insights,
        feedback_count=len(records) - insights,
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
        store, PowerBIPushSink(client, dataset), SqliteDeliveryLedger(tmp_path / "ledger.sqlite3"), DEMO
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
    feed = PowerBIFeed(store, PowerBIPushSink(client, dataset), ledger, DEMO, rows_per_push=40)
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


def task_records(task: str) -> list[dict[str, Any]]:
    """Five insights of a ``task`` model (one whose output was not finite) and feedback on two."""
    if task == "multiclass":
        insights = [multiclass_insight(i, name) for i, name in enumerate(["HDF", "none", "TWF", None, "OSF"])]
        return [*insights, feedback(0, "PWF"), feedback(2, "TWF")]
    insights = [regression_insight(i, value) for i, value in enumerate([0.8, 1.4, 0.2, None, 2.5])]
    return [*insights, feedback(0, 0.9), feedback(2, 0.25)]


TASK_DATASETS = {"multiclass": multiclass_dataset(), "regression": regression_dataset()}
EXPECTED = {
    "multiclass": (
        [("HDF", 0.8), ("none", 0.8), ("TWF", 0.8), (None, None), ("OSF", 0.8)],
        ("label_class", ["PWF", "TWF"]),
    ),
    "regression": (
        [(0.8, 0.6, 1.1), (1.4, 0.6, 1.1), (0.2, 0.6, 1.1), (None, 0.6, 1.1), (2.5, 0.6, 1.1)],
        ("label_value", [0.9, 0.25]),
    ),
}
PREDICTION_COLUMNS = {
    "multiclass": ("predicted_class", "predicted_probability"),
    "regression": ("predicted_value", "predicted_lower", "predicted_upper"),
}


@pytest.mark.parametrize("mode", ["local", "service"])
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_feed_powerbi_pushes_each_tasks_prediction_and_typed_label(
    azurite: Azurite, store: AzureBlobStore, power_bi: FakePowerBI, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, mode: str, task: str,
) -> None:  # fmt: skip
    """The definition generated for the model is what the function reads and the dataset has;
    the stand-in refuses a column the dataset lacks and a value of the wrong type."""
    connection = azurite.connection_string("cloud")
    message = published_to_powerbi(connection, write_compliant_blob(store, 0, task_records(task)))

    definition = tmp_path / "dataset.json"
    definition.write_text(orjson.dumps(TASK_DATASETS[task].definition()).decode(), encoding="utf-8")
    dataset = power_bi.add_dataset(dataset_definition(TASK_DATASETS[task]))
    feed_powerbi_as_configured(
        message, monkeypatch, tmp_path, connection=connection, mode=mode, power_bi=power_bi,
        dataset=dataset, definition=definition,
    )  # fmt: skip

    if mode == "local":
        sink = LocalRowSink(tmp_path / "sink" / "edgeloop-insights")
        insights, labels = sink.read_rows(INSIGHTS_TABLE), sink.read_rows(FEEDBACK_TABLE)
    else:
        insights, labels = power_bi.rows(dataset, INSIGHTS_TABLE), power_bi.rows(dataset, FEEDBACK_TABLE)
        assert power_bi.statuses() == [200, 200, 200]  # Insights, InsightValues, Feedback
    predictions, (label_column, label_values) = EXPECTED[task]
    assert [tuple(row[c] for c in PREDICTION_COLUMNS[task]) for row in insights] == predictions
    assert [row[label_column] for row in labels] == label_values


def test_an_insight_of_another_models_task_fails_the_event_before_any_push(
    store: AzureBlobStore, power_bi: FakePowerBI, tmp_path: Path
) -> None:
    dataset = power_bi.add_dataset(dataset_definition())
    client = PowerBIClient(
        power_bi.base_url, power_bi.group_id, StaticTokenProvider(power_bi.token), limits=UNPACED
    )
    feed = PowerBIFeed(store, PowerBIPushSink(client, dataset), SqliteDeliveryLedger(tmp_path / "l"), DEMO)
    event = write_compliant_blob(store, 0, [wire_insight(0), *task_records("multiclass")])
    with pytest.raises(ClaimCheckError, match=r"record\[1\]\.model\.task: 'multiclass'"):
        feed.deliver(event)
    assert power_bi.statuses() == []
    client.close()


@pytest.mark.parametrize("mode", ["local", "service"])
def test_feed_powerbi_function_takes_the_published_event(
    azurite: Azurite, store: AzureBlobStore, power_bi: FakePowerBI, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, mode: str,
) -> None:  # fmt: skip
    connection = azurite.connection_string("cloud")
    event = write_compliant_blob(store, 25)
    message = published_to_powerbi(connection, event)
    assert message.message_id == event.message_id

    dataset = power_bi.add_dataset(dataset_definition())
    feed_powerbi_as_configured(
        message, monkeypatch, tmp_path, connection=connection, mode=mode, power_bi=power_bi,
        dataset=dataset, deliveries=2,  # the second a redelivery
    )  # fmt: skip

    if mode == "local":
        rows = LocalRowSink(tmp_path / "sink" / "edgeloop-insights").read_rows(INSIGHTS_TABLE)
        assert power_bi.statuses() == []
    else:
        rows = power_bi.rows(dataset, INSIGHTS_TABLE)
        assert power_bi.statuses() == [200, 200]  # Insights, InsightValues; nothing on redelivery
    assert sorted(str(r["insight_id"]) for r in rows) == sorted(
        wire_insight(i)["insight_id"] for i in range(25)
    )
    assert {r["risk_score"] for r in rows} == {0.25}  # the demo's risk output


def test_a_malformed_event_fails_the_invocation_naming_the_field(
    store: AzureBlobStore, tmp_path: Path
) -> None:
    sink = LocalRowSink(tmp_path / "sink")
    feed = PowerBIFeed(store, sink, SqliteDeliveryLedger(tmp_path / "ledger.sqlite3"), DEMO)
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
