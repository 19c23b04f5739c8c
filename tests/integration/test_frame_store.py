"""The SQLite + files frame store on a real folder: keep and get, retention by bytes and by age,
and atomic keeps (a real child process killed between the file and the row leaves nothing)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.frames import NOON, canary, canary_frame, jpeg_bytes, png_bytes

from edgeloop.adapters.sqlite_frame_store import SqliteFrameStore
from edgeloop.domain.frames import FrameOrigin, KeptFrame, ResultSummary, RetentionBounds
from edgeloop.ports import FrameTooLarge

REPO_ROOT = Path(__file__).resolve().parents[2]
DAY = timedelta(hours=24)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for sub in ("files", "tmp") for path in (folder / sub).iterdir())


def test_a_kept_frame_reads_back_whole_and_lists_newest_first(tmp_path: Path) -> None:
    store = SqliteFrameStore(tmp_path, RetentionBounds(10**7, DAY))
    first = canary_frame(canary())
    camera = canary_frame(canary(), source="camera", confidence=0.9, disagree=True)
    origin = FrameOrigin("plant-7", "upload", "part.jpg", NOON, "j" * 32 + "-00003")
    detection = KeptFrame(jpeg_bytes(), "image/jpeg", origin, ResultSummary(detections=2, max_score=0.7))
    stored = [store.keep(frame) for frame in (first, camera, detection)]
    assert store.get(stored[0].frame_id) == first
    assert store.get(stored[1].frame_id) == camera
    assert store.get(stored[2].frame_id) == detection
    newest_first = [s.frame_id for s in reversed(stored)]
    assert [frame.frame_id for frame in store.list_for_labelling(10)] == newest_first
    assert store.list_for_labelling(10)[0].result == ResultSummary(detections=2, max_score=0.7)
    assert store.get("no-such-frame") is None
    assert sorted(files_in(tmp_path)) == sorted(f"{s.frame_id}.{s.file_suffix}" for s in stored)


def test_retention_by_bytes_drops_the_oldest_frames_and_their_files(tmp_path: Path) -> None:
    frames = [canary_frame(canary()) for _ in range(5)]
    bound = sum(frame.size_bytes for frame in frames[:3]) + 10  # about three frames fit
    store = SqliteFrameStore(tmp_path, RetentionBounds(bound, DAY))
    stored = [store.keep(frame) for frame in frames]
    kept = [frame.frame_id for frame in store.list_for_labelling(10)]
    assert kept == [s.frame_id for s in reversed(stored[2:])]
    assert store.get(stored[0].frame_id) is None
    assert store.get(stored[1].frame_id) is None
    assert sorted(files_in(tmp_path)) == sorted(f"{s.frame_id}.png" for s in stored[2:])


def test_retention_by_age_on_keep_and_on_expire(tmp_path: Path) -> None:
    clock = Clock(NOON)
    store = SqliteFrameStore(tmp_path, RetentionBounds(10**7, DAY), clock=clock)
    store.keep(canary_frame(canary()))
    clock.now = NOON + timedelta(hours=20)
    middle = store.keep(canary_frame(canary()))
    clock.now = NOON + timedelta(hours=25)  # the first frame is past the day
    new = store.keep(canary_frame(canary()))
    assert [f.frame_id for f in store.list_for_labelling(10)] == [new.frame_id, middle.frame_id]
    assert store.expire(NOON + timedelta(hours=45)) == 1  # ``middle`` too, now
    assert [f.frame_id for f in store.list_for_labelling(10)] == [new.frame_id]
    assert files_in(tmp_path) == [f"{new.frame_id}.png"]
    assert store.expire(NOON + timedelta(hours=45)) == 0


def test_a_frame_larger_than_the_whole_bound_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    frame = canary_frame(canary())
    store = SqliteFrameStore(tmp_path, RetentionBounds(frame.size_bytes - 1, DAY))
    with pytest.raises(FrameTooLarge, match="data: "):
        store.keep(frame)
    assert store.list_for_labelling(10) == []
    assert files_in(tmp_path) == []


CRASHING_KEEP = """
import os, sys
from datetime import timedelta
from pathlib import Path
sys.path.insert(0, "tests")
from support.frames import canary_frame
from edgeloop.adapters.sqlite_frame_store import SqliteFrameStore
from edgeloop.domain.frames import RetentionBounds

def die(*args, **kwargs):
    os._exit(17)  # the process dies here: no cleanup, no rollback handler runs

def die_at_the_second_call(*args, **kwargs):
    if die_at_the_second_call.calls:
        os._exit(17)
    die_at_the_second_call.calls += 1
    return real_fsync(*args, **kwargs)

die_at_the_second_call.calls = 0
real_fsync = os.fsync
store = SqliteFrameStore(Path(sys.argv[1]), RetentionBounds(10**7, timedelta(days=1)))
store.keep(canary_frame("first"))
if sys.argv[2] == "between-file-and-row":
    SqliteFrameStore._insert_row = die
elif sys.argv[3] == "batch":  # the second frame's bytes half-way, the first's already in files/
    os.fsync = die_at_the_second_call
else:  # half-way through writing the bytes
    os.fsync = die
if sys.argv[3] == "batch":
    store.keep_many([canary_frame("second"), canary_frame("third"), canary_frame("fourth")])
else:
    store.keep(canary_frame("second"))
"""


@pytest.mark.parametrize("keep", ["one", "batch"])
@pytest.mark.parametrize("where", ["between-file-and-row", "while-writing-the-file"])
def test_a_crash_part_way_through_a_keep_leaves_nothing_visible(
    tmp_path: Path, where: str, keep: str
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASHING_KEEP), str(tmp_path), where, keep],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 17, child.stderr
    # The first frame, and what the crash left behind: the batch's files (between file and row)
    # or the one in writing (and, for a batch, the one before it, renamed but without a row).
    left = {("one", "between-file-and-row"): 1, ("one", "while-writing-the-file"): 1}
    left |= {("batch", "between-file-and-row"): 3, ("batch", "while-writing-the-file"): 2}
    assert len(files_in(tmp_path)) == 1 + left[keep, where]
    reopened = SqliteFrameStore(tmp_path, RetentionBounds(10**7, DAY))
    (survivor,) = reopened.list_for_labelling(10)
    assert survivor.origin.source_name == "first.png"
    assert reopened.pending(None, 10)[0].frame.frame_id == survivor.frame_id
    assert len(reopened.pending(None, 10)) == 1
    reopened.close()
    # Past the grace (here none), the next open sweeps the crash's leftovers away.
    swept = SqliteFrameStore(tmp_path, RetentionBounds(10**7, DAY), orphan_grace=timedelta(0))
    assert files_in(tmp_path) == [f"{survivor.frame_id}.png"]
    assert swept.get(survivor.frame_id) is not None


def test_keeps_from_several_threads_stay_within_bounds_and_agree_with_the_files(tmp_path: Path) -> None:
    frames = [canary_frame(canary()) for _ in range(8)]
    bound = sum(frame.size_bytes for frame in frames[:5])
    store = SqliteFrameStore(tmp_path, RetentionBounds(bound, DAY))

    def keep_all(worker: int) -> None:
        for frame in frames:
            store.keep(frame)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(keep_all, range(4)))
    count, size = store.kept_totals()
    assert size <= bound
    assert count == len(store.list_for_labelling(100))
    listed = {f"{frame.frame_id}.png" for frame in store.list_for_labelling(100)}
    assert set(files_in(tmp_path)) == listed


def test_a_batch_keeps_in_order_and_one_too_large_frame_refuses_it_all(tmp_path: Path) -> None:
    frames = [canary_frame(canary()) for _ in range(3)]
    store = SqliteFrameStore(tmp_path, RetentionBounds(10**7, DAY))
    stored = store.keep_many(frames)
    assert [store.get(item.frame_id) for item in stored] == frames
    assert [f.frame_id for f in store.list_for_labelling(10)] == [item.frame_id for item in reversed(stored)]
    tight = SqliteFrameStore(tmp_path / "tight", RetentionBounds(frames[0].size_bytes + 100, DAY))
    large = KeptFrame(png_bytes(canary(), size=96), "image/png", frames[0].origin, frames[0].result)
    with pytest.raises(FrameTooLarge, match=r"data: .*\(frame 1 of the batch\)"):
        tight.keep_many([frames[0], large, frames[1]])
    assert tight.list_for_labelling(10) == []
    assert files_in(tmp_path / "tight") == []  # refused before anything was written
    store.close()
    tight.close()


def kept_names(store: SqliteFrameStore) -> list[str]:
    return [frame.origin.source_name for frame in store.list_for_labelling(100)]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, 4), min_size=1, max_size=4), fits=st.integers(1, 6))
def test_batches_keep_what_one_keep_after_another_keeps(tmp_path: Path, cuts: list[int], fits: int) -> None:
    frames = [canary_frame(f"{index:02d}-{canary()}") for index in range(sum(cuts))]
    bound = max(frame.size_bytes for frame in frames) * fits  # retention pushes the oldest out
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        batched = SqliteFrameStore(Path(folder) / "batched", RetentionBounds(bound, DAY))
        reference = SqliteFrameStore(Path(folder) / "reference", RetentionBounds(bound, DAY))
        start = 0
        for cut in cuts:
            batched.keep_many(frames[start : start + cut])
            start += cut
        for frame in frames:
            reference.keep(frame)
        assert kept_names(batched) == kept_names(reference)
        assert batched.kept_totals() == reference.kept_totals()
        listed = {f"{frame.frame_id}.png" for frame in batched.list_for_labelling(100)}
        assert (
            set(files_in(Path(folder) / "batched")) == listed
        )  # no file without a row, nor row without a file
        batched.close()
        reference.close()
