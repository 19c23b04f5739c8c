"""The Power BI feed use case with the local sink and the SQLite ledger (both real, on tmp_path).

The blob store is an in-memory dict here; tests/integration/test_powerbi_feed_azurite.py
reads real blobs from Azurite.
"""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from support.powerbi_records import binary_dataset

from edgeloop.adapters.powerbi_local_sink import LocalRowSink
from edgeloop.adapters.sqlite_delivery_ledger import LedgerConflict, SqliteDeliveryLedger
from edgeloop.domain.powerbi_schema import FEEDBACK_TABLE, INSIGHTS_TABLE, VALUES_TABLE
from edgeloop.ports import BlobWrittenEvent
from edgeloop.service_layer.powerbi_feed import PowerBIFeed
from edgeloop.wire.claim_check import ClaimCheckError
from edgeloop.wire.storage_layout import jsonl_gz

DATASET = binary_dataset()
BLOB = "site=site-a/date=2025-03-01/hour=12/0123abcd.jsonl.gz"


class MemoryBlobs:
    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}

    def put(
        self, container: str, name: str, data: bytes, *, content_type: str, overwrite: bool = True
    ) -> str:
        self.blobs[(container, name)] = data
        return f"memory://{container}/{name}"

    def get(self, container: str, name: str) -> bytes:
        return self.blobs[(container, name)]


def wire_insight(index: int) -> dict[str, Any]:
    return {
        "kind": "insight", "schema_version": 1, "insight_id": f"{'a' * 32}-{index:05d}", "site_id": "site-a",
        "scored_at": "2025-03-01T12:00:00.000000Z",
        "model": {"name": "ai4i", "version": "1", "sha256": "0" * 64},
        "inputs": {"torque_nm": 40.0 + index, "type": "L"}, "outputs": {"failure_probability": 0.1},
        "anomaly": False, "anomaly_kinds": [], "context": {},
    }  # fmt: skip


def wire_feedback(index: int) -> dict[str, Any]:
    return {
        "kind": "feedback", "schema_version": 1, "feedback_id": f"{'b' * 32}-{index:05d}",
        "insight_id": f"{'a' * 32}-{index:05d}", "site_id": "site-a", "label": 1,
        "recorded_at": "2025-03-01T13:00:00.000000Z",
    }  # fmt: skip


def event(container: str = "compliant", name: str = BLOB, count: int = 0) -> BlobWrittenEvent:
    return BlobWrittenEvent(
        message_id=f"{container}/{name}", subject=container, blob_url=f"memory://{container}/{name}",
        container=container, blob_name=name, site_id="site-a", record_count=count, insight_count=count,
        feedback_count=0,
    )  # fmt: skip


class FlakySink:
    """Wraps a sink and fails the push number ``fail_at`` (counting from 1)."""

    def __init__(self, inner: LocalRowSink, fail_at: int) -> None:
        self.inner = inner
        self.fail_at = fail_at
        self.calls = 0

    def push_rows(self, table: str, rows: Sequence[dict[str, object]]) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("uplink dropped")
        self.inner.push_rows(table, rows)


@pytest.fixture
def blobs() -> MemoryBlobs:
    store = MemoryBlobs()
    store.put("compliant", BLOB, jsonl_gz([wire_insight(i) for i in range(7)] + [wire_feedback(0)]),
              content_type="application/gzip")  # fmt: skip
    return store


def test_rows_are_pushed_in_chunks_and_a_redelivery_pushes_nothing(
    blobs: MemoryBlobs, tmp_path: Path
) -> None:
    sink = LocalRowSink(tmp_path / "sink")
    feed = PowerBIFeed(
        blobs, sink, SqliteDeliveryLedger(tmp_path / "ledger.sqlite3"), DATASET, rows_per_push=3
    )
    first = feed.deliver(event())
    assert first.records == 8
    assert first.pushed_rows == {INSIGHTS_TABLE: 7, VALUES_TABLE: 21, FEEDBACK_TABLE: 1}
    assert first.pushed_chunks == 3 + 7 + 1
    again = feed.deliver(event())
    assert again.pushed_rows == {}
    assert again.skipped_chunks == 11
    insights = sink.read_rows(INSIGHTS_TABLE)
    assert [r["insight_id"] for r in insights] == [f"{'a' * 32}-{i:05d}" for i in range(7)]
    assert {r["risk_score"] for r in insights} == {0.1}
    assert [r["label"] for r in sink.read_rows(FEEDBACK_TABLE)] == [1]
    assert len(sink.read_rows(VALUES_TABLE)) == 21


def test_a_failed_push_resumes_after_the_last_delivered_chunk(blobs: MemoryBlobs, tmp_path: Path) -> None:
    sink = LocalRowSink(tmp_path / "sink")
    ledger = SqliteDeliveryLedger(tmp_path / "ledger.sqlite3")
    with pytest.raises(ConnectionError):
        PowerBIFeed(blobs, FlakySink(sink, fail_at=2), ledger, DATASET, rows_per_push=3).deliver(event())
    assert len(sink.read_rows(INSIGHTS_TABLE)) == 3  # only the first chunk got through
    result = PowerBIFeed(blobs, sink, ledger, DATASET, rows_per_push=3).deliver(event())
    assert result.skipped_chunks == 1
    assert len(sink.read_rows(INSIGHTS_TABLE)) == 7  # exactly once each
    assert len({r["insight_id"] for r in sink.read_rows(INSIGHTS_TABLE)}) == 7


def test_a_crash_between_push_and_mark_duplicates_at_most_that_chunk(
    blobs: MemoryBlobs, tmp_path: Path
) -> None:
    sink = LocalRowSink(tmp_path / "sink")
    ledger = SqliteDeliveryLedger(tmp_path / "ledger.sqlite3")

    class CrashingLedger:
        def delivered(self, source: str, table: str) -> tuple[int, int]:
            return ledger.delivered(source, table)

        def mark_delivered(
            self, source: str, table: str, chunk_index: int, row_start: int, row_end: int
        ) -> None:
            if chunk_index == 1:
                raise OSError("process killed")
            ledger.mark_delivered(source, table, chunk_index, row_start, row_end)

    with pytest.raises(OSError, match="killed"):
        PowerBIFeed(blobs, sink, CrashingLedger(), DATASET, rows_per_push=3).deliver(event())
    PowerBIFeed(blobs, sink, ledger, DATASET, rows_per_push=3).deliver(event())
    ids = [r["insight_id"] for r in sink.read_rows(INSIGHTS_TABLE)]
    assert len(ids) == 7 + 3  # chunk 1 (rows 3..5) arrived twice, nothing else did
    assert len(set(ids)) == 7  # so reports count distinct insight_id


def test_only_compliant_blobs_feed_power_bi(blobs: MemoryBlobs, tmp_path: Path) -> None:
    sink = LocalRowSink(tmp_path / "sink")
    feed = PowerBIFeed(blobs, sink, SqliteDeliveryLedger(tmp_path / "ledger.sqlite3"), DATASET)
    assert feed.deliver(event(container="anomalies")).ignored
    assert sink.read_rows(INSIGHTS_TABLE) == []


def test_a_bad_record_fails_the_event_before_anything_is_pushed(blobs: MemoryBlobs, tmp_path: Path) -> None:
    bad = wire_insight(3) | {"anomaly": "maybe"}
    blobs.put("compliant", "bad.jsonl.gz", jsonl_gz([wire_insight(0), bad]), content_type="application/gzip")
    sink = LocalRowSink(tmp_path / "sink")
    feed = PowerBIFeed(blobs, sink, SqliteDeliveryLedger(tmp_path / "ledger.sqlite3"), DATASET)
    with pytest.raises(ClaimCheckError, match=r"compliant/bad.jsonl.gz: record\[1\]\.anomaly"):
        feed.deliver(event(name="bad.jsonl.gz"))
    assert sink.read_rows(INSIGHTS_TABLE) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not gzip", "not a gzip stream"),
        # mtime=0: a gzip header's time would make the test id differ between xdist workers
        (gzip.compress(b'{"kind": "insight"}\n{oops\n', mtime=0), "line 2: not JSON"),
    ],
    ids=["not gzip", "gzip of bad JSON"],
)
def test_an_unreadable_blob_is_a_feed_error(tmp_path: Path, data: bytes, message: str) -> None:
    blobs = MemoryBlobs()
    blobs.put("compliant", BLOB, data, content_type="application/gzip")
    feed = PowerBIFeed(blobs, LocalRowSink(tmp_path), SqliteDeliveryLedger(tmp_path / "l.sqlite3"), DATASET)
    with pytest.raises(ClaimCheckError, match=message):
        feed.deliver(event())


def test_ledger_survives_reopening_and_refuses_a_changed_chunk(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    SqliteDeliveryLedger(path).mark_delivered("c/b", "Insights", 0, 0, 10_000)
    ledger = SqliteDeliveryLedger(path)
    ledger.mark_delivered("c/b", "Insights", 0, 0, 10_000)  # idempotent
    ledger.mark_delivered("c/b", "Insights", 1, 10_000, 12_000)
    assert ledger.delivered("c/b", "Insights") == (2, 12_000)
    assert ledger.delivered("c/b", "Feedback") == (0, 0)
    with pytest.raises(LedgerConflict):
        ledger.mark_delivered("c/b", "Insights", 1, 10_000, 15_000)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM delivered_chunks").fetchone() == (2,)


def test_local_sink_enforces_the_service_limits(tmp_path: Path) -> None:
    sink = LocalRowSink(tmp_path)
    with pytest.raises(ValueError, match="10001 rows"):
        sink.push_rows(INSIGHTS_TABLE, [{"insight_id": "x"}] * 10_001)
    with pytest.raises(ValueError, match=r"Insights\.site_id"):
        sink.push_rows(INSIGHTS_TABLE, [{"site_id": "s" * 4001}])
    with pytest.raises(ValueError, match="table"):
        sink.push_rows("../escape", [{"a": 1}])
    assert sink.read_rows(INSIGHTS_TABLE) == []


def test_the_cloud_role_serves_feed_powerbi_on_the_powerbi_subscription() -> None:
    import azure.functions as func

    from functions import cloud_powerbi
    from functions.registry import blueprint_modules

    assert "functions.cloud_powerbi" in blueprint_modules("cloud")
    app = func.FunctionApp()
    app.register_functions(cloud_powerbi.bp)
    (function,) = [f for f in app.get_functions() if f.get_function_name() == "feed_powerbi"]
    (trigger,) = [b.get_dict_repr() for b in function.get_bindings()]
    assert trigger["type"] == "serviceBusTrigger"
    assert (trigger["topicName"], trigger["subscriptionName"]) == ("insights", "powerbi")
    assert trigger["connection"] == "ServiceBusConnection"
