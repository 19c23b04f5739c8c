"""The notebook's vision frame (edgeloop.reports.vision_frame) over a real SQLite global store."""

from __future__ import annotations

from pathlib import Path

from contract.insight_factory import T0, feedback
from contract.vision_factory import detection_frame, frame

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.reports.vision_frame import BASE_COLUMNS, camera_hours_frame


def test_one_numeric_row_per_camera_hour_with_a_column_per_class(tmp_path: Path) -> None:
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    store.upsert(
        [
            frame("line-1", "ok"),
            frame("line-1", "scratch", minutes=5, kinds=("alert_class",)),
            frame("line-1", "ok", minutes=70),
            frame(None, "dent", minutes=3, kinds=("alert_class",)),
        ]
    )
    cameras = camera_hours_frame(store)
    empty = camera_hours_frame(store, start=T0.replace(year=2030))
    store.close()
    assert list(cameras["camera_id"]) == ["", "line-1", "line-1"]
    assert list(cameras["frames"]) == [1.0, 2.0, 1.0]
    assert list(cameras["defect_rate"]) == [1.0, 0.5, 0.0]
    assert list(cameras["class_ok"]) == [0.0, 1.0, 1.0]
    assert list(cameras["class_dent"]) == [1.0, 0.0, 0.0]
    assert str(cameras["hour"].dtype) == "datetime64[ns, UTC]"
    assert list(empty.columns) == list(BASE_COLUMNS)
    assert empty.empty


def test_a_detection_cameras_rows_carry_its_verdicts_and_missed_defects(tmp_path: Path) -> None:
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    boxes = detection_frame("line-9", 2)
    store.upsert([boxes, feedback(boxes, "accept,reject;scratch@0.1,0.62,0.3,0.8"), frame("line-1", "ok")])
    cameras = camera_hours_frame(store)
    store.close()
    assert list(cameras["camera_id"]) == ["line-1", "line-9"]
    assert [list(cameras[column]) for column in ("accepted", "rejected", "missed")] == [[0.0, 1.0]] * 3
