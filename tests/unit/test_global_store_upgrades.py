"""Global stores written before model tasks carry on: SQLite files are upgraded on open,
Cosmos DB counter documents of binary models keep their ids and read as before."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import orjson
from azure.cosmos import CosmosClient
from contract.cosmos_fake_transport import ENDPOINT, FAKE_KEY, FakeCosmosTransport
from contract.insight_factory import T0, class_insight, feedback, insight

from edgeloop.adapters.cosmos_store import CosmosInsightStore
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.insights_view import Counts
from edgeloop.domain.records import format_timestamp

# The tables as they were before tasks (label INTEGER; counters without task or feedback measures).
BEFORE_TASKS = """
CREATE TABLE insights (insight_id TEXT PRIMARY KEY, site_id TEXT NOT NULL, scored_at TEXT NOT NULL,
    anomaly INTEGER NOT NULL, doc BLOB NOT NULL);
CREATE TABLE feedback (insight_id TEXT PRIMARY KEY, feedback_id TEXT NOT NULL, site_id TEXT NOT NULL,
    label INTEGER NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE hourly_counts (site_id TEXT NOT NULL, hour TEXT NOT NULL, model_name TEXT NOT NULL,
    model_version TEXT NOT NULL, scored INTEGER NOT NULL, anomalies INTEGER NOT NULL,
    feedback INTEGER NOT NULL, feedback_correct INTEGER NOT NULL,
    PRIMARY KEY (site_id, hour, model_name, model_version)) WITHOUT ROWID;
"""


def test_a_sqlite_file_from_before_tasks_is_upgraded_and_counted_again(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    flagged, classed = insight(anomaly=True), class_insight(predicted="wear", anomaly=False)
    with sqlite3.connect(path) as conn:
        conn.executescript(BEFORE_TASKS)
        for record, label in ((flagged, 1), (classed, "wear")):
            wire = (
                record.insight_id,
                record.site_id,
                format_timestamp(record.scored_at),
                int(record.anomaly),
            )
            conn.execute(
                "INSERT INTO insights VALUES (?, ?, ?, ?, ?)", (*wire, orjson.dumps(record.to_wire()))
            )
            stamp = format_timestamp(T0)
            conn.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?, ?)",
                (record.insight_id, "f", "site-a", label, stamp),
            )
        # The old rule compared the flag with a truthy label: the class insight's feedback was "wrong".
        for name, correct in (("failure-risk", 1), ("failure-mode", 0)):
            conn.execute(
                "INSERT INTO hourly_counts VALUES ('site-a', '2024-05-01T12', ?, '1.0.0', 1, ?, 1, ?)",
                (name, 1 - correct, correct),
            )
    conn.close()

    store = SqliteInsightStore(path)
    models = {m.model.name: m for m in store.model_stats(None, None)}
    assert models["failure-risk"].counts == Counts(1, 1, 1, 1, 1)
    assert models["failure-mode"].model.task == "multiclass"
    assert models["failure-mode"].accuracy == 1.0
    stored = store.get("site-a", classed.insight_id)
    assert stored is not None
    assert stored.feedback is not None
    assert stored.feedback.label == "wear"
    # The fleet's per-site rollup is summed from the counters counted again.
    assert [s.counts for s in store.site_totals(None, None)] == [
        s.counts for s in store.site_stats(None, None)
    ]
    store.close()
    SqliteInsightStore(path).close()  # opening an upgraded file again changes nothing
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        (rows,) = conn.execute("SELECT COUNT(*) FROM hourly_counts").fetchone()
    conn.close()
    assert tables == {
        "insights",
        "feedback",
        "hourly_counts",
        "site_hourly_counts",
        "model_hourly_counts",  # the per-model rollups, summed from the counters counted again
        "model_site_counts",
        "site_status",
        "site_status_latest",
        "shadow_insights",
        "vision_counts",  # counted from the stored insights (none are images')
        "vision_classes",
    }
    assert rows == 2


def test_a_binary_models_cosmos_counter_from_before_tasks_keeps_counting() -> None:
    fake = FakeCosmosTransport()
    digest = hashlib.sha256(b"failure-risk\x001.0.0").hexdigest()[:24]
    old_id = f"_hourly_2024-05-01T12_{digest}"
    old = {"id": old_id, "site_id": "site-a", "doc_type": "hourly", "hour": "2024-05-01T12",
           "model_name": "failure-risk", "model_version": "1.0.0", "scored": 3, "anomalies": 1,
           "feedback": 2, "feedback_correct": 1, "ttl": -1, "_etag": '"0"'}  # fmt: skip
    fake.documents[("site-a", old_id)] = old
    client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=fake, retry_total=0)
    store = CosmosInsightStore(client.get_database_client("edgeloop").get_container_client("insights"))
    record = insight(anomaly=True)
    store.upsert([record, feedback(record, 1)])
    [model] = store.model_stats(None, None)
    assert model.counts == Counts(scored=4, anomalies=2, feedback=3, feedback_correct=2, feedback_judged=3)
    counters = [doc for doc in fake.docs_in("site-a") if doc["doc_type"] == "hourly"]
    assert [doc["id"] for doc in counters] == [old_id]
    assert counters[0]["task"] == "binary"
