"""FrameKeeping's summaries and its never-fail rule, on real SQLite frame stores where a real part
can fail as asked (a byte bound), and on a stand-in store that raises ``OSError`` where none can
(a full or failing disk cannot be had on demand, and root ignores permissions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from support.frames import jpeg_bytes, png_bytes

from edgeloop.adapters.pillow_encoder import PillowJpegEncoder
from edgeloop.adapters.sqlite_frame_store import SqliteFrameStore
from edgeloop.domain.cameras import FrameStamp
from edgeloop.domain.frames import KeptFrame, RetentionBounds, StoredFrame
from edgeloop.domain.images import ImageSource, UploadedImage
from edgeloop.service_layer.frame_keeping import FrameKeeping, media_type_of, result_summary
from edgeloop.service_layer.image_scoring import ScoredImage, ScoredImages

PROBABILITIES = (("ok", "p_ok"), ("crack", "p_crack"))
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def scored(*predictions: tuple[str | None, float | None]) -> ScoredImages:
    images = tuple(
        ScoredImage(i, None, f"{'b' * 32}-{i:05d}", {"p_ok": 1 - (p or 0), "p_crack": p}, name, False, ())
        for i, (name, p) in enumerate(predictions)
    )
    return ScoredImages("m", "1", "b" * 32, ImageSource.camera("cam-1"), images, PROBABILITIES)


class FailingDisk:
    """A frame store whose disk fails: the stand-in for an I/O error (see the module's docstring)."""

    def keep(self, frame: KeptFrame) -> StoredFrame:
        raise OSError(28, "No space left on device")

    def keep_many(self, frames: Sequence[KeptFrame]) -> list[StoredFrame]:
        raise OSError(28, "No space left on device")

    def list_for_labelling(self, limit: int) -> list[StoredFrame]:
        return []

    def get(self, frame_id: str) -> KeptFrame | None:
        return None

    def expire(self, now: datetime | None = None) -> int:
        return 0


def test_the_summary_is_the_top_class_and_its_probability() -> None:
    batch = scored(("crack", 0.75), (None, None))
    summary = result_summary(batch, batch.images[0])
    assert summary is not None
    assert (summary.top_class, summary.confidence, summary.models_disagree) == ("crack", 0.75, False)
    assert result_summary(batch, batch.images[1]) is None  # no class: nothing to summarise


def test_media_types_come_from_the_bytes_not_the_name() -> None:
    assert media_type_of(png_bytes("x")) == "image/png"
    assert media_type_of(jpeg_bytes()) == "image/jpeg"
    assert media_type_of(b"GIF89a") is None


def test_camera_frames_are_kept_as_jpeg_captured_when_the_stamp_says(tmp_path: Path) -> None:
    store = SqliteFrameStore(tmp_path, RetentionBounds(10**8, timedelta(days=1)), clock=lambda: NOW)
    keeping = FrameKeeping(store, "site-a", PillowJpegEncoder(80))
    keeping.start()
    rgb = np.full((24, 32, 3), 90, np.uint8)
    captured = NOW.timestamp() - 5
    keeping.keep_camera_frames(
        scored(("ok", 0.9), (None, None)), [rgb, rgb], FrameStamp("cam-1", (captured,) * 2)
    )
    keeping.close()  # keeps what was handed in
    [frame] = store.list_for_labelling(10)
    assert (frame.media_type, frame.origin.source, frame.origin.source_name) == (
        "image/jpeg",
        "camera",
        "cam-1",
    )
    assert frame.origin.captured_at == datetime.fromtimestamp(captured, UTC)
    assert (frame.origin.insight_id, frame.result.top_class) == (f"{'b' * 32}-00000", "ok")
    assert dict(keeping.totals) == {"kept": 1, "no_summary": 1}
    store.close()


def test_a_failing_disk_is_counted_and_never_raised() -> None:
    keeping = FrameKeeping(FailingDisk(), "site-a", PillowJpegEncoder())
    keeping.start()
    files = [UploadedImage("a.png", "image/png", png_bytes("a")), UploadedImage("b.gif", None, b"GIF89a")]
    keeping.keep_uploads(scored(("ok", 0.9), ("crack", 0.6)), files)
    keeping.close()
    assert dict(keeping.totals) == {"store_error": 1, "unsupported_type": 1}


def test_a_full_queue_drops_the_frame_counted_and_the_caller_goes_on(tmp_path: Path) -> None:
    store = SqliteFrameStore(tmp_path, RetentionBounds(10**8, timedelta(days=1)))
    keeping = FrameKeeping(store, "site-a", PillowJpegEncoder(), queue_frames=1)  # writer not started
    files = [UploadedImage(f"{name}.png", "image/png", png_bytes(name)) for name in "ab"]
    keeping.keep_uploads(scored(("ok", 0.9), ("crack", 0.6)), files)
    assert dict(keeping.totals) == {"backlog": 1}
    keeping.start()
    keeping.close()
    assert dict(keeping.totals) == {"backlog": 1, "kept": 1}
    assert [frame.origin.source_name for frame in store.list_for_labelling(10)] == ["a.png"]
    store.close()


def test_jpeg_quality_is_bounded() -> None:
    with pytest.raises(ValueError, match="1 to 95"):
        PillowJpegEncoder(100)


class CountedStore:
    """The real store, with its ``keep_many`` calls counted (the only thing added to it)."""

    def __init__(self, store: SqliteFrameStore) -> None:
        self.store = store
        self.calls: list[int] = []

    def keep(self, frame: KeptFrame) -> StoredFrame:
        return self.store.keep(frame)

    def keep_many(self, frames: Sequence[KeptFrame]) -> list[StoredFrame]:
        self.calls.append(len(frames))
        return self.store.keep_many(frames)

    def list_for_labelling(self, limit: int) -> list[StoredFrame]:
        return self.store.list_for_labelling(limit)

    def get(self, frame_id: str) -> KeptFrame | None:
        return self.store.get(frame_id)

    def expire(self, now: datetime | None = None) -> int:
        return self.store.expire(now)


def test_the_writer_keeps_the_waiting_frames_in_one_commit_and_a_too_large_one_alone(tmp_path: Path) -> None:
    small = [png_bytes(name) for name in "abcd"]
    large = png_bytes("e", size=96)
    bound = max(map(len, small)) * 6  # the large PNG alone is over it
    assert len(large) > bound
    store = CountedStore(SqliteFrameStore(tmp_path, RetentionBounds(bound, timedelta(days=1))))
    keeping = FrameKeeping(store, "site-a", PillowJpegEncoder(), write_frames=3)  # writer not started
    names = ["a", "b", "e", "c", "d"]
    files = [
        UploadedImage(f"{name}.png", "image/png", large if name == "e" else png_bytes(name)) for name in names
    ]
    keeping.keep_uploads(scored(*[("ok", 0.9)] * 5), files)
    keeping.start()
    keeping.close()
    # Three waiting frames in one call; it held the large one, so each of the three was kept
    # alone (the large one refused); then the last two together.
    assert store.calls == [3, 1, 1, 1, 2]
    assert dict(keeping.totals) == {"kept": 4, "too_large": 1}
    kept = [frame.origin.source_name for frame in store.list_for_labelling(10)]
    assert kept == ["d.png", "c.png", "b.png", "a.png"]  # newest first: the order they came in
    store.store.close()


def test_a_detector_s_frame_is_summarised_by_its_boxes_and_best_score() -> None:
    images = tuple(
        ScoredImage(i, None, f"{'d' * 32}-{i:05d}", {"uncertain": 0.0}, prediction, False, ())
        for i, prediction in enumerate([["spot", 0.5, 0, 0, 1, 1, "scratch", 0.9, 0, 0, 1, 1], [], None])
    )
    batch = ScoredImages("m", "1", "d" * 32, ImageSource.camera("cam-1"), images, ())
    found, empty, invalid = (result_summary(batch, image) for image in batch.images)
    assert found is not None
    assert (found.detections, found.max_score) == (2, 0.9)
    assert empty is not None  # kept: nothing found there
    assert (empty.detections, empty.max_score) == (0, None)
    assert invalid is None  # outputs that were not finite: nothing to summarise
