"""The camera worker: frames from one camera, sampled, scored in batches, reconnecting when it drops.

Contract. The reader connects (``CameraConnector``), decodes and keeps one frame per
``1 / sample_fps`` seconds of stream time (``FrameSampler``; the frames between are never
converted to RGB). A live camera (RTSP, MJPEG) queues each kept frame (``FrameBuffer``: its
oldest is pushed out when scoring lags) for its scorer thread, which hands them to the
``FrameScorer`` ``batch_size`` at a time (a partial batch after ``batch_max_wait`` seconds, the
rest at stop); when it lags, the full batches already waiting go with the first, up to
``group_batches``, committed together (each batch still one graph call): a frame waits for at
most ``group_batches`` graph calls and one commit once taken, in the stream's order. A video file
waits for its scorer anyway, so its reader scores, ``group_batches`` full batches at a time (fewer
once the first has waited ``batch_max_wait``; the rest at its end or at stop), with no hand-offs;
``scorer_thread_for_files`` gives it a scorer thread instead (it then waits for room in the buffer).
A connection that fails or breaks is retried after ``Backoff.delay`` (the count of failures in a
row resets once a frame arrives), for ever, until ``stop``; a file read to its end ends the
camera. Nothing a camera or the scorer does escapes a thread: the scoring app never falls over
because of a camera. ``status()`` may be read from any thread: the reader's counts reach it every
``PUBLISH_EVERY_FRAMES`` frames or ``PUBLISH_EVERY_S`` seconds (before their frames are scored),
exactly once the stream ends, breaks or stops.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edgeloop.domain.cameras import (
    DEFAULT_GROUP_BATCHES,
    Backoff,
    CameraSpec,
    CameraState,
    CameraStatus,
    FrameSampler,
    FrameStamp,
)
from edgeloop.ports.cameras import CameraConnector, CameraStream, CameraUnavailable, FrameScorer
from edgeloop.service_layer.frame_buffer import BufferedFrame, FrameBuffer

logger = logging.getLogger(__name__)

BUFFERED_BATCHES = 4  # sampled frames held per camera: this many batches
# How often the reader publishes its counts into the status: a lock a frame cost more.
PUBLISH_EVERY_FRAMES = 16
PUBLISH_EVERY_S = 0.25


class _Figures:
    """The camera's counters; each has one writer thread, the lock keeps a status read whole."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state = CameraState.CONNECTING
        self.frames_in = self.frames_scored = self.reconnects = 0
        self.dropped_sampling = self.dropped_backlog = self.dropped_scoring_error = 0
        self.last_frame_at: float | None = None
        self.last_error: str | None = None


@dataclass(slots=True)
class _Tally:
    """The reader's counts not yet published into the status (its own thread's: no lock)."""

    frames_in: int = 0
    dropped_sampling: int = 0
    dropped_backlog: int = 0
    got_frames: bool = False
    last_frame_at: float | None = None
    published_at: float = 0.0  # the reader's clock


class CameraWorker:
    def __init__(
        self,
        camera: CameraSpec,
        connector: CameraConnector,
        scorer: FrameScorer,
        backoff: Backoff,
        *,
        batch_max_wait: float = 2.0,
        group_batches: int = DEFAULT_GROUP_BATCHES,
        scorer_thread_for_files: bool = False,
        unit_random: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.camera = camera
        self._connector = connector
        self._scorer = scorer
        self._backoff = backoff
        self._batch_max_wait = batch_max_wait
        if group_batches < 1:
            raise ValueError("group_batches: at least 1")
        self._group_batches = group_batches
        self._unit_random = unit_random
        self._clock = clock
        self._figures = _Figures()
        buffered = camera.batch_size * max(BUFFERED_BATCHES, group_batches)
        self._buffer = FrameBuffer(buffered, drop_oldest=camera.live)
        self._stopping = threading.Event()
        # A live camera's reader must never wait for scoring; a file's may, so it scores.
        self._reader_scores = not camera.live and not scorer_thread_for_files
        self._hand_over_size = (
            1 if camera.live else camera.batch_size * (group_batches if self._reader_scores else 1)
        )
        roles = {"reader": self._read} | ({} if self._reader_scores else {"scorer": self._score})
        self._threads = [
            threading.Thread(target=run, name=f"camera-{camera.id}-{role}", daemon=True)
            for role, run in roles.items()
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def request_stop(self) -> None:
        """Ask its threads to end; ``stop`` waits for them."""
        self._stopping.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop reading (a blocked read ends within the connector's read timeout), score what was
        sampled, then return; a thread still busy after ``timeout`` is left to end (daemon)."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        self._threads[0].join(max(0.0, deadline - time.monotonic()))
        self._buffer.close()
        for thread in self._threads[1:]:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._set(state=CameraState.STOPPED)

    @property
    def running(self) -> bool:
        """Whether any of its threads is still alive."""
        return any(thread.is_alive() for thread in self._threads)

    def status(self) -> CameraStatus:
        f = self._figures
        with f.lock:
            return CameraStatus(
                self.camera.id, self.camera.kind, self.camera.redacted_url(), f.state, f.frames_in,
                f.frames_scored, f.dropped_sampling, f.dropped_backlog, f.dropped_scoring_error,
                f.reconnects, f.last_frame_at, f.last_error,
            )  # fmt: skip

    def _set(self, **values: object) -> None:
        with self._figures.lock:
            for name, value in values.items():
                setattr(self._figures, name, value)

    def _add(self, name: str, count: int = 1) -> None:
        with self._figures.lock:
            setattr(self._figures, name, getattr(self._figures, name) + count)

    def _read(self) -> None:
        failures = 0
        try:
            while not self._stopping.is_set():
                self._set(state=CameraState.CONNECTING)
                got_frames, ended = self._connect_and_stream()
                if ended:
                    self._set(state=CameraState.ENDED)
                    logger.info("camera %s: file read to its end", self.camera.id)
                    return
                failures = 1 if got_frames else failures + 1
                if self._stopping.is_set():
                    return
                delay = self._backoff.delay(failures, self._unit_random())
                self._set(state=CameraState.BACKING_OFF)
                logger.warning(
                    "camera %s: retrying in %.1fs (%d failed in a row)", self.camera.id, delay, failures
                )
                if self._stopping.wait(delay):
                    return
                self._add("reconnects")
        finally:
            self._buffer.close()  # the scorer drains what was sampled, then ends

    def _connect_and_stream(self) -> tuple[bool, bool]:
        """(whether any frame arrived, whether a file ended); failures are recorded, never raised."""
        got_frames = False
        try:
            stream = self._connector.open(self.camera)
            try:
                got_frames = self._stream(stream)
            finally:
                stream.close()
        except CameraUnavailable as exc:
            self._set(last_error=str(exc))
            logger.warning("camera %s: %s", self.camera.id, exc)
            return got_frames, False
        except Exception as exc:  # a decoder or library fault: never let it end the camera
            self._set(last_error=f"{type(exc).__name__}: {exc}")
            logger.exception("camera %s: unexpected failure", self.camera.id)
            return got_frames, False
        if self._stopping.is_set() or not self.camera.live:
            return got_frames, not self._stopping.is_set()
        self._set(last_error="the stream ended")  # a live camera that hangs up is a drop
        return got_frames, False

    def _stream(self, stream: CameraStream) -> bool:
        sampler = FrameSampler(self.camera.sample_fps)
        tally = _Tally()
        kept: list[BufferedFrame] = []
        try:
            for frame in stream.frames():
                if self._stopping.is_set():
                    break
                now = self._clock()
                if not tally.got_frames:
                    tally.got_frames = True
                    self._set(state=CameraState.STREAMING, last_error=None)
                    logger.info("camera %s: streaming", self.camera.id)
                tally.frames_in += 1
                tally.last_frame_at = now
                if not sampler.keep(frame.timestamp):
                    tally.dropped_sampling += 1
                elif self._hand_over_now(kept, BufferedFrame(frame.rgb(), now, time.monotonic())):
                    self._hand_over(kept, tally)
                    continue
                if tally.frames_in >= PUBLISH_EVERY_FRAMES or now - tally.published_at >= PUBLISH_EVERY_S:
                    self._publish(tally)
        finally:
            self._hand_over(kept, tally)  # a broken stream or a stop: what was kept is still scored
            self._publish(tally)
        return tally.got_frames

    def _hand_over(self, kept: list[BufferedFrame], tally: _Tally) -> None:
        # Counted in first, so that the status never shows a frame scored before it came in; what
        # the buffer pushes out is published with the next counts.
        self._publish(tally)
        if kept and self._reader_scores:
            size = self.camera.batch_size
            self._score_group([kept[start : start + size] for start in range(0, len(kept), size)])
        elif kept:
            tally.dropped_backlog += self._buffer.put_all(kept)
        kept.clear()

    def _hand_over_now(self, kept: list[BufferedFrame], frame: BufferedFrame) -> bool:
        """Adds the frame to those kept; whether to hand them over now: a live camera each at once
        (its buffer pushes out the oldest); a file a group to score, or a batch for its scorer
        thread (one lock, one wake-up), fewer once the first has waited ``batch_max_wait``."""
        kept.append(frame)
        if len(kept) >= self._hand_over_size:
            return True
        return frame.queued_at - kept[0].queued_at >= self._batch_max_wait

    def _publish(self, tally: _Tally) -> None:
        """The counts since the last publication, into the status (one lock for many frames)."""
        with self._figures.lock:
            f = self._figures
            f.frames_in += tally.frames_in
            f.dropped_sampling += tally.dropped_sampling
            f.dropped_backlog += tally.dropped_backlog
            f.last_frame_at = tally.last_frame_at or f.last_frame_at
        tally.frames_in = tally.dropped_sampling = tally.dropped_backlog = 0
        tally.published_at = tally.last_frame_at or 0.0

    def _score(self) -> None:
        while batch := self._buffer.take(self.camera.batch_size, self._batch_max_wait):
            group = [batch]
            while len(group) < self._group_batches:
                if not (ready := self._buffer.take_ready(self.camera.batch_size)):
                    break
                group.append(ready)
            self._score_group(group)

    def _score_group(self, group: list[list[BufferedFrame]]) -> None:
        frames = sum(len(batch) for batch in group)
        stamp = FrameStamp(self.camera.id, tuple(frame.captured_at for batch in group for frame in batch))
        try:
            self._scorer.score_batches([[frame.rgb for frame in batch] for batch in group], stamp)
        except Exception:  # the scorer's fault is counted and logged; the camera goes on
            logger.exception("camera %s: scoring %d frames failed", self.camera.id, frames)
            self._add("dropped_scoring_error", frames)
        else:
            self._add("frames_scored", frames)


class CameraFleet:
    """The site's camera workers, started and stopped together."""

    def __init__(self, workers: Sequence[CameraWorker]) -> None:
        self.workers = tuple(workers)

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
        logger.info("started %d camera worker(s)", len(self.workers))

    def stop(self, timeout: float = 10.0) -> None:
        for worker in self.workers:
            worker.request_stop()  # all at once: each then waits out its own read
        for worker in self.workers:
            worker.stop(timeout)

    def statuses(self) -> list[CameraStatus]:
        return [worker.status() for worker in self.workers]
