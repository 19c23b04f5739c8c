"""Global stores written before ``feedback_missed`` (a detection label's missed boxes) and the
vision counters' verdicts carry on: a SQLite file is counted again from its insights when opened
if a label holds a missed box (its counters never read them), else gets the column, 0
everywhere, without reading an insight; a Cosmos DB counter document without the field reads as
counting none, and a vision document without the verdicts takes them from its hour's stored
insights at its next write."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from azure.cosmos import CosmosClient
from contract.cosmos_fake_transport import ENDPOINT, FAKE_KEY, FakeCosmosTransport
from contract.insight_factory import T0, detection_insight, feedback, insight, seed_tasks
from contract.vision_factory import detection_frame

from edgeloop.adapters.cosmos_store import CosmosInsightStore
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.model_stats import ModelKey
from edgeloop.ports import InsightStore

DETECTION = ModelKey("surface-detection", "1", "detection")
SCRATCH = "scratch@0.1,0.62,0.3,0.8"
RANGE = (T0, T0 + timedelta(hours=3))

# What the tables lacked before the column (the covering index named it).
WITHOUT_MISSED = """
DROP INDEX hourly_counts_by_hour_site;
ALTER TABLE hourly_counts DROP COLUMN feedback_missed;
ALTER TABLE site_hourly_counts DROP COLUMN feedback_missed;
ALTER TABLE model_hourly_counts DROP COLUMN feedback_missed;
ALTER TABLE model_site_counts DROP COLUMN feedback_missed;
"""


def _answers(store: InsightStore) -> list[object]:
    return [
        store.model_stats(None, None),
        store.model_stats(*RANGE),
        store.model_hours(*RANGE),
        store.site_totals(None, None),
        store.site_totals(*RANGE),
        store.site_stats(None, None),
    ]


def test_a_sqlite_file_from_before_the_missed_counter_is_counted_again_on_open(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    store = SqliteInsightStore(path)
    frames = [detection_insight(), detection_insight("site-b", 0, hour=1)]
    labelled = [feedback(frames[0], f"accept,reject;{SCRATCH}"), feedback(frames[1], f";{SCRATCH};{SCRATCH}")]
    store.upsert([*seed_tasks(hours=2), *frames, *labelled])
    expected = _answers(store)
    store.close()
    with sqlite3.connect(path) as conn:  # the scored sums spoilt too: they must come from the insights
        conn.executescript(WITHOUT_MISSED + "UPDATE hourly_counts SET scored = 0;")
    conn.close()

    upgraded = SqliteInsightStore(path)
    assert _answers(upgraded) == expected
    [model] = [m for m in upgraded.model_stats(None, None) if m.model == DETECTION]
    assert model.detection_verdicts == (1, 1, 3)
    upgraded.close()
    again = SqliteInsightStore(path)  # opening an upgraded file again changes nothing
    assert _answers(again) == expected
    again.close()


def test_a_sqlite_file_without_a_missed_box_gets_the_column_without_a_recount(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    store = SqliteInsightStore(path)
    frame = detection_insight()
    store.upsert([*seed_tasks(hours=2), frame, feedback(frame, "accept,reject")])
    expected = _answers(store)
    store.close()
    with sqlite3.connect(path) as conn:
        conn.executescript(WITHOUT_MISSED)
    conn.close()

    upgraded = SqliteInsightStore(path)
    assert _answers(upgraded) == expected
    upgraded.upsert([feedback(frame, f"accept,accept;{SCRATCH}", at=T0 + timedelta(hours=1))])
    [model] = [m for m in upgraded.model_stats(None, None) if m.model == DETECTION]
    assert model.detection_verdicts == (2, 0, 1)  # counted from then on
    conn = upgraded._connections.get()
    indexed = [row[2] for row in conn.execute("PRAGMA index_info(hourly_counts_by_hour_site)")]
    assert indexed[-1] == "feedback_missed"  # the fleet's sums still read from the index alone
    upgraded.close()


def test_a_cosmos_counter_from_before_the_field_counts_no_missed_box() -> None:
    fake = FakeCosmosTransport()
    client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=fake, retry_total=0)
    store = CosmosInsightStore(client.get_database_client("edgeloop").get_container_client("insights"))
    flagged = insight(anomaly=True)
    store.upsert([flagged, feedback(flagged, 1)])
    for doc in fake.documents.values():
        doc.pop("feedback_missed", None)
    [model] = store.model_stats(None, None)
    [ranged] = store.model_stats(T0, None)
    assert model == ranged
    assert (model.counts.feedback, model.counts.feedback_missed, model.accuracy) == (1, 0, 1.0)


def test_a_cosmos_vision_document_from_before_the_verdicts_takes_them_from_its_stored_frames() -> None:
    fake = FakeCosmosTransport()
    client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=fake, retry_total=0)
    store = CosmosInsightStore(client.get_database_client("edgeloop").get_container_client("insights"))
    judged, other = detection_frame("line-1", 2), detection_frame("line-1", 1, minutes=5)
    store.upsert([judged, other, feedback(judged, "accept,accept"), feedback(other, "reject")])
    for doc in fake.documents.values():  # as the documents were: frames counted, verdicts not
        if doc["doc_type"] == "vision_hourly":
            for field in ("accepted", "rejected", "missed"):
                del doc[field]
    [(_, before)] = store.vision_hours(None, None)
    assert (before.frames, before.accepted, before.rejected) == (2, 0, 0)
    # The operator corrects one frame: its earlier verdicts are taken away from what they were.
    store.upsert([feedback(judged, f"accept,reject;{SCRATCH}", at=T0 + timedelta(hours=1))])
    [(_, after)] = store.vision_hours(None, None)
    assert (after.frames, after.accepted, after.rejected, after.missed) == (2, 1, 2, 1)
