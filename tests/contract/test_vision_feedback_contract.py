"""The vision counters' detection feedback on every adapter (see conftest.py): per (site, camera,
hour, model) the detections operators accepted and rejected and the defects they drew as missed,
kept on write with the feedback, unchanged by redelivery, moved by a later label, and counted
from the stored insights and feedback in a SQLite file from before them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from contract.vision_factory import detection_frame, frame
from insight_factory import T0, feedback

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import Record
from edgeloop.ports import InsightStore

SCRATCH = "scratch@0.1,0.62,0.3,0.8"


def _verdicts(store: InsightStore) -> dict[tuple[str, str], tuple[int, int, int]]:
    rows = store.vision_hours(None, None)
    return {(key.site_id, key.camera_id): (c.accepted, c.rejected, c.missed) for key, c in rows}


def _shift() -> list[Record]:
    two, one, none = (
        detection_frame("line-1", 2),
        detection_frame("line-1", 1, minutes=5),
        detection_frame("line-2", 0),
    )
    return [
        two, one, none, detection_frame("line-2", 1, minutes=9),  # the last one unlabelled
        feedback(two, f"accept,reject;{SCRATCH}"), feedback(one, "accept"),
        feedback(none, f";{SCRATCH};{SCRATCH}"),
    ]  # fmt: skip


def test_each_cameras_verdicts_and_missed_defects_are_counted(store: InsightStore) -> None:
    store.upsert(_shift())
    assert _verdicts(store) == {("site-a", "line-1"): (2, 1, 1), ("site-a", "line-2"): (0, 0, 2)}
    [line_1, line_2] = [counts for _, counts in store.vision_hours(None, None)]
    assert (line_1.precision, line_1.recall, line_2.recall) == (2 / 3, 2 / 3, 0.0)
    assert (line_1.frames, line_2.frames) == (2, 2)


def test_redelivery_changes_nothing_and_a_later_label_moves_the_counts(store: InsightStore) -> None:
    records = _shift()
    store.upsert(records)
    store.upsert(records)
    store.upsert(list(reversed(records)))
    assert _verdicts(store) == {("site-a", "line-1"): (2, 1, 1), ("site-a", "line-2"): (0, 0, 2)}
    two = records[0]
    store.upsert([feedback(two, "accept,accept", at=T0 + timedelta(hours=2))])
    store.upsert([feedback(two, f"reject,reject;{SCRATCH}", at=T0 + timedelta(minutes=1))])  # older: loses
    assert _verdicts(store)[("site-a", "line-1")] == (3, 0, 0)


def test_feedback_before_its_frame_counts_when_the_frame_arrives(store: InsightStore) -> None:
    frame = detection_frame("line-3", 1)
    store.upsert([feedback(frame, f"reject;{SCRATCH}")])
    assert store.vision_hours(None, None) == []
    store.upsert([frame])
    assert _verdicts(store) == {("site-a", "line-3"): (0, 1, 1)}


def test_an_sqlite_file_from_before_the_feedback_columns_is_counted_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    before = SqliteInsightStore(path)
    before.upsert(_shift())
    expected = before.vision_hours(None, None)
    conn = before._connections.get()  # as the tables were: no feedback columns
    for column in ("accepted", "rejected", "missed"):
        conn.execute(f"ALTER TABLE vision_counts DROP COLUMN {column}")
    conn.execute("UPDATE vision_counts SET frames = frames + 5")  # recounted from the insights, not kept
    before.close()
    after = SqliteInsightStore(path)
    try:
        assert after.vision_hours(None, None) == expected
    finally:
        after.close()


def test_an_sqlite_file_without_detection_labels_gets_the_columns_without_a_recount(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    before = SqliteInsightStore(path)
    classified, boxed = frame("line-1", "scratch", kinds=("alert_class",)), detection_frame("line-2", 1)
    before.upsert([classified, boxed, feedback(classified, "ok")])
    conn = before._connections.get()
    for column in ("accepted", "rejected", "missed"):
        conn.execute(f"ALTER TABLE vision_counts DROP COLUMN {column}")
    conn.execute("UPDATE vision_counts SET anomalies = 7")  # kept: the columns are added, nothing read again
    before.close()
    after = SqliteInsightStore(path)
    try:
        assert {key.camera_id: (c.anomalies, c.missed) for key, c in after.vision_hours(None, None)} == {
            "line-1": (7, 0),
            "line-2": (7, 0),
        }
        after.upsert([feedback(boxed, f"accept;{SCRATCH}")])  # counted from then on
        assert _verdicts(after)[("site-a", "line-2")] == (1, 0, 1)
    finally:
        after.close()
