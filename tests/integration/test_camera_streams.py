"""Camera workers on real streams: GStreamer's RTSP server, an mp4 file, PyAV decoding.

The scorer is tests/support/cameras.RecordingScorer (these tests are about sampling, batching
and reconnecting; the image scoring is tested on its own). Waits are on conditions.
"""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from support.cameras import RecordingScorer, RtspServer, frame_index, rtsp_server, write_test_video
from support.mjpeg_server import jpeg_frames, mjpeg_server
from support.waiting import wait_until

from edgeloop.adapters.pyav_camera import PyAvConnector
from edgeloop.domain.cameras import Backoff, CameraSpec, CameraState, FrameStamp
from edgeloop.ports.cameras import RgbFrame
from edgeloop.service_layer.camera_worker import CameraWorker

FAST_BACKOFF = Backoff(initial_seconds=0.1, max_seconds=0.5, multiplier=2.0, jitter=0.2)
WAIT = 30.0


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 10 frames/s for two minutes: longer than any test watches it.
    return write_test_video(tmp_path_factory.mktemp("videos") / "long.mp4", frames=1200)


@pytest.fixture
def server(long_video: Path) -> Iterator[RtspServer]:
    with rtsp_server(long_video) as running:
        yield running


def worker_for(
    camera: CameraSpec, scorer: RecordingScorer, batch_max_wait: float = 5.0, **options: Any
) -> CameraWorker:
    connector = PyAvConnector(open_timeout=5.0, read_timeout=5.0)
    return CameraWorker(camera, connector, scorer, FAST_BACKOFF, batch_max_wait=batch_max_wait, **options)


# A file camera's reader scores its own frames; with a scorer thread it runs as a live camera does.
FILE_THREADS = pytest.mark.parametrize("scorer_thread", [False, True], ids=["reader-scores", "scorer-thread"])


@pytest.fixture
def started() -> Iterator[list[CameraWorker]]:
    workers: list[CameraWorker] = []
    yield workers
    for worker in workers:
        worker.stop()


def test_rtsp_frames_are_sampled_and_scored_in_batches(
    server: RtspServer, started: list[CameraWorker]
) -> None:
    scorer = RecordingScorer()
    worker = worker_for(CameraSpec("line-1", server.url, sample_fps=5, batch_size=4), scorer)
    started.append(worker)
    worker.start()
    wait_until(
        lambda: len(scorer.batches) >= 3, WAIT, "three batches scored", details=lambda: str(worker.status())
    )
    status = worker.status()
    assert status.state is CameraState.STREAMING
    assert status.kind == "rtsp"
    frames, origin = scorer.batches[0]
    assert len(frames) == 4
    assert frames[0].shape == (120, 160, 3)
    assert str(frames[0].dtype) == "uint8"
    assert origin.camera_id == "line-1"
    assert len(origin.captured_at) == 4
    assert list(origin.captured_at) == sorted(origin.captured_at)
    # Half the frames of a 10 frames/s stream fall between the 5 frames/s samples.
    assert status.dropped_sampling >= status.frames_scored - 4
    assert status.last_frame_at is not None
    assert status.reconnects == 0
    # Samples of a 10 frames/s stream at 5 a second: two frames apart (three once in a while, when
    # the slot's frame came a little early), in order.
    indexes = [frame_index(frame) for frame in frames]
    steps = {(later - earlier) % 32 for earlier, later in itertools.pairwise(indexes)}
    assert steps <= {1, 2, 3}, indexes


def test_a_killed_server_is_backed_off_from_and_streaming_resumes_on_its_return(
    server: RtspServer, started: list[CameraWorker]
) -> None:
    scorer = RecordingScorer()
    worker = worker_for(CameraSpec("line-2", server.url, sample_fps=5, batch_size=2), scorer)
    started.append(worker)
    worker.start()
    wait_until(lambda: scorer.frames >= 4, WAIT, "frames scored", details=lambda: str(worker.status()))

    server.kill()
    wait_until(
        lambda: worker.status().state is CameraState.BACKING_OFF and worker.status().reconnects >= 2,
        WAIT,
        "backing off, two reconnects tried",
        details=lambda: str(worker.status()),
    )
    down = worker.status()
    assert down.last_error is not None
    assert "127.0.0.1" in down.last_error
    scored_while_down = scorer.frames

    server.start()  # the same port
    wait_until(
        lambda: worker.status().state is CameraState.STREAMING and scorer.frames >= scored_while_down + 4,
        WAIT,
        "streaming again, more frames scored",
        details=lambda: str(worker.status()),
    )
    assert worker.status().last_error is None


@FILE_THREADS
def test_a_video_file_is_read_to_its_end_and_every_sample_scored(tmp_path: Path, scorer_thread: bool) -> None:
    video = write_test_video(tmp_path / "clip.mp4", frames=30, fps=10)
    scorer = RecordingScorer()
    camera = CameraSpec("bench-cam", str(video), sample_fps=5, batch_size=4)
    worker = worker_for(camera, scorer, scorer_thread_for_files=scorer_thread)
    worker.start()
    try:
        wait_until(lambda: worker.status().state is CameraState.ENDED, WAIT, "the file read to its end")
        wait_until(
            lambda: scorer.frames == 15, WAIT, "15 samples scored", details=lambda: str(worker.status())
        )
    finally:
        worker.stop()
    status = worker.status()
    assert (status.frames_in, status.frames_scored, status.dropped_sampling) == (30, 15, 15)
    assert [len(frames) for frames, _ in scorer.batches] == [4, 4, 4, 3]  # the last one partial
    indexes = [frame_index(frame) for frames, _ in scorer.batches for frame in frames]
    assert indexes == list(range(0, 30, 2))  # no frame of the file pushed out: a file waits for the scorer
    assert status.state is CameraState.STOPPED


@pytest.mark.parametrize(("width", "height"), [(64, 64), (640, 480)])
def test_the_rgb_frames_are_pyav_s_own_conversion_pixel_for_pixel(
    tmp_path: Path, width: int, height: int
) -> None:
    # The stream converts on one swscale thread (cheaper per frame); the reference is
    # VideoFrame.to_ndarray(format="rgb24") on swscale's default threads. Noise, so that every
    # pixel and chroma sample differs.
    noise = np.random.default_rng(14).integers(0, 256, (6, height, width, 3), np.uint8)
    video = tmp_path / "noise.mp4"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("libx264", rate=10, options={"bf": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for image in noise:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    with av.open(str(video)) as container:
        expected = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    opened = PyAvConnector().open(CameraSpec("noise", str(video), sample_fps=10, batch_size=2))
    try:
        converted = [frame.rgb() for frame in opened.frames()]
    finally:
        opened.close()
    assert len(converted) == len(expected) == 6
    for got, want in zip(converted, expected, strict=True):
        assert (got.dtype, got.shape) == (np.uint8, (height, width, 3))
        np.testing.assert_array_equal(got, want)


@FILE_THREADS
def test_a_scorer_failure_drops_that_group_and_the_camera_goes_on(
    tmp_path: Path, scorer_thread: bool
) -> None:
    video = write_test_video(tmp_path / "clip.mp4", frames=20, fps=10)
    scorer = RecordingScorer(fail_first=1)
    camera = CameraSpec("flaky", f"file://{video}", sample_fps=10, batch_size=5)
    # Groups of two batches: the 20 frames make at least two groups either way.
    worker = worker_for(camera, scorer, group_batches=2, scorer_thread_for_files=scorer_thread)
    worker.start()
    try:
        wait_until(lambda: worker.status().state is CameraState.ENDED, WAIT, "the file read to its end")
        wait_until(lambda: scorer.frames + sum(scorer.failed) == 20, WAIT, "every sample scored or dropped")
    finally:
        worker.stop()
    status = worker.status()
    # The failed call took one batch, or more when the file had run ahead (a group): all its
    # frames count as dropped, none as scored; the frames after it are all scored, in order.
    [failed] = scorer.failed
    assert 5 <= failed <= 10  # a batch or a group of two
    assert failed % 5 == 0
    assert (status.dropped_scoring_error, status.frames_scored) == (failed, 20 - failed)
    indexes = [frame_index(frame) for frames, _ in scorer.batches for frame in frames]
    assert indexes == list(range(failed, 20))


class HeldScorer(RecordingScorer):
    """Its first call waits until ``release`` is set: scoring that lags while the file runs ahead."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.held_frames: int | None = None  # how many frames its first call holds

    def score_batches(self, batches: Sequence[Sequence[RgbFrame]], stamp: FrameStamp) -> object:
        if not self.groups:
            self.held_frames = sum(len(batch) for batch in batches)
            self.release.wait(WAIT)
        return super().score_batches(batches, stamp)


def test_a_lagging_scorer_takes_the_waiting_batches_as_one_group_in_order(tmp_path: Path) -> None:
    video = write_test_video(tmp_path / "clip.mp4", frames=30, fps=10)
    scorer = HeldScorer()
    camera = CameraSpec("press-9", str(video), sample_fps=10, batch_size=2)
    # A scorer thread, as a live camera has (a file's reader that scores never lags behind itself).
    worker = worker_for(camera, scorer, group_batches=3, scorer_thread_for_files=True)
    worker.start()
    try:
        # The scorer holds its first group; the buffer fills (4 batches) and the reader, with one
        # more batch read (its count published before it waits for room), waits.
        wait_until(lambda: scorer.held_frames is not None, WAIT, "the first group held")
        assert scorer.held_frames is not None
        read_when_full = scorer.held_frames + 8 + 2
        wait_until(
            lambda: worker.status().frames_in >= read_when_full,
            WAIT,
            "the buffer full",
            details=lambda: str(worker.status()),
        )
        scorer.release.set()
        wait_until(lambda: worker.status().state is CameraState.ENDED, WAIT, "the file read to its end")
        wait_until(
            lambda: scorer.frames == 30, WAIT, "every frame scored", details=lambda: str(worker.status())
        )
    finally:
        worker.stop()
    # The first group is what was waiting as the scorer woke (the reader may have put another
    # batch by then); once released, the full buffer's batches go at most 3 a group.
    assert len(scorer.groups[0]) <= 3
    assert scorer.groups[1] == [2, 2, 2]
    assert all(len(group) <= 3 for group in scorer.groups)
    indexes = [frame_index(frame) for frames, _ in scorer.batches for frame in frames]
    assert indexes == list(range(30))  # nothing lost, nothing reordered
    times = [time for _, stamp in scorer.batches for time in stamp.captured_at]
    assert times == sorted(times)  # each frame kept its own capture time through the group
    assert worker.status().frames_scored == 30


class ThreadNoting(RecordingScorer):
    """Notes which thread each call came from; ``gate_second``: the second call waits for ``release``."""

    def __init__(self, gate_second: bool = False) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.statuses: list[tuple[int, int, int]] = []  # (frames in, scored, this call's) at each call
        self.worker: CameraWorker | None = None
        self.second_call = threading.Event()
        self.release = threading.Event()
        self._gate = gate_second

    def score_batches(self, batches: Sequence[Sequence[RgbFrame]], stamp: FrameStamp) -> object:
        self.threads.append(threading.current_thread().name)
        if self.worker is not None:
            status = self.worker.status()
            self.statuses.append((status.frames_in, status.frames_scored, sum(map(len, batches))))
        if self._gate and len(self.threads) == 2:
            self.second_call.set()
            self.release.wait(WAIT)
        return super().score_batches(batches, stamp)


def test_a_file_camera_s_reader_scores_its_frames_a_group_of_full_batches_at_a_time(tmp_path: Path) -> None:
    video = write_test_video(tmp_path / "clip.mp4", frames=30, fps=10)
    scorer = ThreadNoting()
    worker = worker_for(
        CameraSpec("press-1", str(video), sample_fps=10, batch_size=2), scorer, group_batches=3
    )
    scorer.worker = worker
    worker.start()
    try:
        wait_until(lambda: worker.status().state is CameraState.ENDED, WAIT, "the file read to its end")
    finally:
        worker.stop()
    assert set(scorer.threads) == {"camera-press-1-reader"}  # no scorer thread, no hand-offs
    assert scorer.groups == [[2, 2, 2]] * 5
    indexes = [frame_index(frame) for frames, _ in scorer.batches for frame in frames]
    assert indexes == list(range(30))
    status = worker.status()
    assert (status.frames_in, status.frames_scored, status.dropped_backlog) == (30, 30, 0)
    # The reader's counts reach the status before the frames they count are scored.
    assert len(scorer.statuses) == 5
    assert all(frames_in >= scored + scoring for frames_in, scored, scoring in scorer.statuses)


@FILE_THREADS
def test_a_file_camera_stopped_mid_way_scores_what_it_read_and_its_counts_are_exact(
    long_video: Path, scorer_thread: bool
) -> None:
    scorer = ThreadNoting(gate_second=True)
    camera = CameraSpec("press-2", str(long_video), sample_fps=5, batch_size=3)
    worker = worker_for(camera, scorer, group_batches=2, scorer_thread_for_files=scorer_thread)
    worker.start()
    try:
        assert scorer.second_call.wait(WAIT), "a second group scored"
        worker.request_stop()  # while the second group is being scored
        scorer.release.set()
    finally:
        worker.stop()
    status = worker.status()
    assert status.state is CameraState.STOPPED
    assert not worker.running
    assert 6 <= status.frames_scored < 600  # stopped well before the file's end
    assert status.frames_in - status.dropped_sampling - status.dropped_backlog == status.frames_scored
    assert status.dropped_backlog == 0  # a file waits: nothing pushed out
    indexes = [frame_index(frame) for frames, _ in scorer.batches for frame in frames]
    assert indexes == [
        index % 32 for index in range(0, 2 * status.frames_scored, 2)
    ]  # every sample, in order


def test_an_unreachable_camera_is_retried_with_back_off_and_stops_cleanly(
    started: list[CameraWorker],
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scorer = RecordingScorer()
    worker = worker_for(CameraSpec("gate", f"rtsp://viewer:secret@127.0.0.1:{port}/stream"), scorer)
    worker.start()
    wait_until(
        lambda: worker.status().reconnects >= 3,
        WAIT,
        "three reconnects",
        details=lambda: str(worker.status()),
    )
    worker.stop()
    status = worker.status()
    assert status.state is CameraState.STOPPED
    assert (status.frames_in, status.frames_scored) == (0, 0)
    assert status.last_error is not None
    assert "cannot connect" in status.last_error
    assert "secret" not in status.last_error
    assert "secret" not in status.url
    assert not worker.running


def test_a_missing_file_is_retried_like_an_unreachable_camera(tmp_path: Path) -> None:
    scorer = RecordingScorer()
    worker = worker_for(CameraSpec("later", str(tmp_path / "not-yet.mp4")), scorer)
    worker.start()
    try:
        wait_until(lambda: worker.status().reconnects >= 1, WAIT, "a retry")
    finally:
        worker.stop()
    assert "not-yet.mp4" in (worker.status().last_error or "")


def test_an_http_mjpeg_camera_is_sampled_on_arrival_times(started: list[CameraWorker]) -> None:
    scorer = RecordingScorer()
    with mjpeg_server(jpeg_frames(32), fps=10) as url:
        worker = worker_for(CameraSpec("door", url, sample_fps=5, batch_size=3), scorer)
        started.append(worker)
        worker.start()
        wait_until(
            lambda: scorer.frames >= 6, WAIT, "six MJPEG frames scored", details=lambda: str(worker.status())
        )
        status = worker.status()
    assert status.kind == "mjpeg"
    assert status.state is CameraState.STREAMING
    frames, _ = scorer.batches[0]
    assert frames[0].shape == (120, 160, 3)
    # Samples in order, about every other frame (arrival times jitter: now and then one apart).
    indexes = [frame_index(frame) for frames, _ in scorer.batches[:2] for frame in frames]
    assert all(1 <= (later - earlier) % 32 <= 4 for earlier, later in itertools.pairwise(indexes)), indexes
    assert status.dropped_sampling >= 1
