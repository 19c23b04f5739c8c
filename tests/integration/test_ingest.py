"""The ingest core and the ``ingest_insights`` function against real Azurite blobs and real SQLite."""

from __future__ import annotations

import dataclasses
import gzip
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import orjson
import pytest
from azure.core.exceptions import ResourceNotFoundError
from contract.insight_factory import class_insight, feedback, insight, new_batch_id, value_insight

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.insights_view import Counts, InsightQuery
from edgeloop.domain.records import Record
from edgeloop.ports import BlobWrittenEvent
from edgeloop.service_layer.ingest import InsightIngest
from edgeloop.wire.claim_check import ClaimCheckError
from edgeloop.wire.storage_layout import jsonl_gz
from functions import cloud_global, dependencies
from localdev.azurite import Azurite


@pytest.fixture
def blobs(azurite: Azurite) -> AzureBlobStore:
    return AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteInsightStore]:
    sqlite = SqliteInsightStore(tmp_path / "global.sqlite3")
    yield sqlite
    sqlite.close()


@pytest.fixture
def site() -> str:
    return f"site-{uuid.uuid4().hex[:8]}"  # blob names unique per test: the container is shared


def put_blob(
    blobs: AzureBlobStore, site: str, lines: list[Any], *, container: str = "compliant"
) -> BlobWrittenEvent:
    """Writes a blob the way the edge function does (gzipped JSON Lines) and returns its event."""
    name = f"site={site}/date=2024-05-01/hour=12/{uuid.uuid4().hex}.jsonl.gz"
    url = blobs.put(container, name, jsonl_gz(lines), content_type="application/gzip")
    kinds = [line.get("kind") for line in lines if isinstance(line, dict)]
    return BlobWrittenEvent(
        message_id=f"{container}/{name}",
        subject=container,
        blob_url=url,
        container=container,
        blob_name=name,
        site_id=site,
        record_count=len(lines),
        insight_count=kinds.count("insight"),
        feedback_count=kinds.count("feedback"),
    )


def wire(records: list[Record]) -> list[dict[str, Any]]:
    return [record.to_wire() for record in records]


def stored_ids(store: SqliteInsightStore) -> list[str]:
    return [item.record.insight_id for item in store.query(InsightQuery(limit=1000)).items]


def test_a_compliant_blob_lands_in_the_store_once_however_often_delivered(
    blobs: AzureBlobStore, store: SqliteInsightStore, site: str
) -> None:
    batch = new_batch_id()
    insights = [insight(site, row=i, batch=batch, anomaly=i == 0) for i in range(5)]
    event = put_blob(blobs, site, wire([*insights, feedback(insights[0], 1)]))
    ingest = InsightIngest(blobs, store)
    result = ingest.ingest(event)
    assert (result.insights, result.feedback, result.ignored) == (5, 1, False)
    ingest.ingest(event)  # redelivered
    assert sorted(stored_ids(store)) == sorted(r.insight_id for r in insights)
    [stats] = store.site_stats(None, None)
    assert stats.counts == Counts(scored=5, anomalies=1, feedback=1, feedback_correct=1, feedback_judged=1)


def test_multiclass_and_regression_records_land_with_their_prediction_and_typed_label(
    blobs: AzureBlobStore, store: SqliteInsightStore, site: str
) -> None:
    """Through the wire format, as the edge writes them: the label keeps its type, the measures follow."""
    classed, valued = class_insight(site, predicted="wear", anomaly=True), value_insight(site, predicted=12.5)
    event = put_blob(blobs, site, wire([classed, valued, feedback(classed, "wear"), feedback(valued, 10)]))
    InsightIngest(blobs, store).ingest(event)
    stored = {item.record.insight_id: item for item in store.query(InsightQuery()).items}
    assert stored[classed.insight_id].record == classed
    labels = [getattr(stored[r.insight_id].feedback, "label", None) for r in (classed, valued)]
    assert labels == ["wear", 10]
    assert type(labels[1]) is int
    models = {m.model.task: m for m in store.model_stats(None, None)}
    assert (models["multiclass"].accuracy, models["regression"].mean_absolute_error) == (1.0, 2.5)


def test_a_missing_blob_raises_and_writes_nothing(
    blobs: AzureBlobStore, store: SqliteInsightStore, site: str
) -> None:
    event = put_blob(blobs, site, wire([insight(site)]))
    missing = dataclasses.replace(event, blob_name=event.blob_name.replace(".jsonl.gz", "-gone.jsonl.gz"))
    with pytest.raises(ResourceNotFoundError):
        InsightIngest(blobs, store).ingest(missing)
    assert stored_ids(store) == []


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda lines: b"not gzip at all", "not a gzip stream"),
        (lambda lines: gzip.compress(orjson.dumps(lines[0]) + b"\n{oops\n"), "line 2: not JSON"),
        (lambda lines: jsonl_gz([lines[0], {**lines[1], "anomaly": "yes"}]), "line 2: anomaly"),
    ],
)
def test_an_unreadable_blob_raises_naming_the_problem_and_writes_nothing(
    blobs: AzureBlobStore, store: SqliteInsightStore, site: str, mangle: Any, message: str
) -> None:
    lines = wire([insight(site, row=0), insight(site, row=1)])
    event = put_blob(blobs, site, lines)
    blobs.put("compliant", event.blob_name, mangle(lines), content_type="application/gzip")
    with pytest.raises(ClaimCheckError, match=message):
        InsightIngest(blobs, store).ingest(event)
    assert stored_ids(store) == []


def test_a_blob_holding_fewer_records_than_its_event_says_is_refused(
    blobs: AzureBlobStore, store: SqliteInsightStore, site: str
) -> None:
    event = put_blob(blobs, site, wire([insight(site)]))
    with pytest.raises(ClaimCheckError, match="holds 1 records, the event says 3"):
        InsightIngest(blobs, store).ingest(dataclasses.replace(event, record_count=3))
    assert stored_ids(store) == []


def test_anomaly_copies_are_acknowledged_without_work(
    blobs: AzureBlobStore, store: SqliteInsightStore, site: str
) -> None:
    event = put_blob(blobs, site, wire([insight(site, anomaly=True)]), container="anomalies")
    assert InsightIngest(blobs, store).ingest(event).ignored
    assert stored_ids(store) == []


def test_the_function_ingests_the_blob_its_message_points_to(
    blobs: AzureBlobStore, store: SqliteInsightStore, site: str
) -> None:
    record = insight(site)
    event = put_blob(blobs, site, wire([record]))
    dependencies.insight_ingest.override(InsightIngest(blobs, store))
    try:
        cloud_global.ingest_insights(func.ServiceBusMessage(body=orjson.dumps(dataclasses.asdict(event))))
        with pytest.raises(ClaimCheckError):
            cloud_global.ingest_insights(func.ServiceBusMessage(body=b"[]"))
    finally:
        dependencies.insight_ingest.override(None)
    assert stored_ids(store) == [record.insight_id]
