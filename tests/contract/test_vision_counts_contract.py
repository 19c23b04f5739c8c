"""The InsightStore's vision counters on every adapter (see conftest.py): frames, defects and class
mix per (site, camera, hour, model), kept on write, unchanged by redelivery, moved by a correction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from contract.vision_factory import frame
from cosmos_fake_transport import ENDPOINT, FAKE_KEY, FakeCosmosTransport
from insight_factory import T0, class_insight, feedback, insight, new_batch_id

from edgeloop.adapters.cosmos_store import CosmosInsightStore
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import InsightRecord
from edgeloop.domain.vision_counts import UPLOADS, VisionCounts, VisionKey
from edgeloop.ports import InsightStore

HOUR_0, HOUR_1 = "2024-05-01T12", "2024-05-01T13"


def key(camera: str, hour: str = HOUR_0, site: str = "site-a") -> VisionKey:
    return VisionKey(site, camera, hour, "surface-defects", "1.0.0")


def counts(frames: int, defects: int, anomalies: int, **classes: int) -> VisionCounts:
    return VisionCounts.from_mapping(frames, defects, anomalies, classes)


def shift_records() -> list[InsightRecord]:
    return [
        frame("line-1", "ok"),
        frame("line-1", "scratch", minutes=5, kinds=("alert_class",)),
        frame("line-1", "ok", minutes=9, kinds=("low_confidence",)),  # flagged, not a defect
        frame("line-1", "dent", minutes=70, kinds=("alert_class", "low_confidence")),
        frame("line-2", "ok", site="site-b", minutes=3),
        frame(None, "scratch", minutes=20, kinds=("alert_class",)),
        insight(),  # a tabular model's: no camera, not counted
        class_insight(),
    ]


EXPECTED = [
    (key("", HOUR_0), counts(1, 1, 1, scratch=1)),
    (key("line-1", HOUR_0), counts(3, 1, 2, ok=2, scratch=1)),
    (key("line-1", HOUR_1), counts(1, 1, 1, dent=1)),
    (key("line-2", HOUR_0, "site-b"), counts(1, 0, 0, ok=1)),
]


def test_frames_are_counted_per_site_camera_and_hour_with_their_class_mix(store: InsightStore) -> None:
    store.upsert(shift_records())
    assert store.vision_hours(None, None) == EXPECTED
    assert EXPECTED[0][0].camera_id == UPLOADS
    assert store.vision_hours(None, None, site_id="site-b") == EXPECTED[3:]
    assert store.vision_hours(T0 + timedelta(hours=1), None, site_id="site-a") == [EXPECTED[2]]
    assert store.vision_hours(T0, T0 + timedelta(minutes=30), site_id="site-a") == EXPECTED[:2]
    assert store.vision_hours(None, None, site_id="site-c") == []


def test_redelivery_and_feedback_leave_the_counts(store: InsightStore) -> None:
    records = shift_records()
    store.upsert(records)
    store.upsert(records)
    store.upsert(records[2:5])
    store.upsert([feedback(records[0], "scratch"), feedback(records[1], "ok")])
    assert store.vision_hours(None, None) == EXPECTED


def test_a_corrected_insight_moves_its_counts(store: InsightStore) -> None:
    first = frame("line-1", "scratch", kinds=("alert_class",))
    store.upsert([first, frame("line-1", "ok", minutes=1)])
    store.upsert([replace(first, prediction="ok", anomaly=False, anomaly_kinds=(),
                          context={"source": "camera", "camera_id": "line-9"})])  # fmt: skip
    assert store.vision_hours(None, None) == [
        (key("line-1"), counts(1, 0, 0, ok=1)),
        (key("line-9"), counts(1, 0, 0, ok=1)),
    ]


def test_a_large_write_of_moving_frames_is_counted_whole(store: InsightStore) -> None:
    """Each frame of the second write leaves one camera-hour and lands in another (Cosmos: batches
    of at most 100 operations, the counters in the batch of the insights they count)."""
    batch = new_batch_id()
    frames = [frame(f"cam-{n}", "ok", minutes=n, batch=batch, row=n) for n in range(45)]
    store.upsert(frames)
    moved = [
        replace(f, context={"source": "camera", "camera_id": f"moved-{n}"}) for n, f in enumerate(frames)
    ]
    store.upsert(moved)
    found = store.vision_hours(None, None)
    assert sorted(k.camera_id for k, _ in found) == sorted(f"moved-{n}" for n in range(45))
    assert {c for _, c in found} == {counts(1, 0, 0, ok=1)}


def _batch_sizes(fake: FakeCosmosTransport) -> Sequence[int]:
    return [len(request.body) for request in fake.requests if request.is_batch]


def test_cosmos_batches_stay_within_the_operation_limit() -> None:
    """The worst case: every insight moves hour and camera, so each changes two hourly and two vision
    counters of its own (a chunk of 32 would be 160 operations: it is written as halves)."""
    from azure.cosmos import CosmosClient

    fake = FakeCosmosTransport()
    client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=fake)
    store = CosmosInsightStore(client.get_database_client("edgeloop").get_container_client("insights"))
    batch = new_batch_id()
    frames = [frame(f"cam-{n}", "ok", minutes=60 * n, batch=batch, row=n) for n in range(40)]
    store.upsert(frames)
    store.upsert(
        [
            replace(
                f, scored_at=f.scored_at + timedelta(days=7), context={"source": "camera", "camera_id": "x"}
            )
            for f in frames
        ]
    )
    assert max(_batch_sizes(fake)) <= 100
    assert sum(c.frames for _, c in store.vision_hours(None, None)) == 40


def test_an_older_sqlite_file_is_counted_when_first_opened(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    before = SqliteInsightStore(path)
    before.upsert(shift_records())
    conn = before._connections.get()  # a file from before the vision tables
    conn.execute("DROP TABLE vision_counts")
    conn.execute("DROP TABLE vision_classes")
    before.close()
    after = SqliteInsightStore(path)
    try:
        assert after.vision_hours(None, None) == EXPECTED
    finally:
        after.close()
