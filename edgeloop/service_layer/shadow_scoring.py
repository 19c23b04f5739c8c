"""Shadow scoring: the challenger scores the rows the champion answered, never in the answer.

Contract: :meth:`ShadowScorer.offer` is called by the scoring use case *after* the answer's
insights are committed, with that scoring's evaluation; it only puts it on a bounded queue
(``put_nowait``, O(1)) and returns. When the queue is full the rows are dropped and counted:
the answer path never waits for the shadow. One worker thread takes what is queued (up to
``MAX_ROUND_JOBS`` scorings, about ``MAX_ROUND_ROWS`` rows), scores those validated rows with
the shadow model in one call (the :class:`ShadowSlot`'s, set by shadow delivery) and commits
one ``shadow_insight`` record per row (edgeloop.domain.shadow_records) as one outbox entry;
then it rests, so that it works at most ``busy_share`` of the time: the bound on what it takes
from the answer path (docs/benchmarks.md section 17). Image scoring (uploads and camera frames)
calls :meth:`ShadowScorer.offer_frames` the same way with a committed batch's decoded frames: the
same queue, bound and counts (a frame counts as a row), and a bound on the frames' bytes that wait
(``max_frame_bytes``: a camera's full-size frames are large); the worker scores them for the shadow's
own manifest, one graph call per served batch (edgeloop.service_layer.image_shadow). A shadow
model that raises, or an outbox that refuses, is counted and logged; nothing of it reaches the
answer. Figures (:meth:`stats`) go to ``/metrics`` and ``readyz``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import orjson

from edgeloop.domain.shadow_records import SHADOW_INSIGHT_KIND
from edgeloop.domain.validation import FeatureColumns, concat_columns
from edgeloop.ports import Outbox, OutboxFull, ScoringModel
from edgeloop.service_layer.image_shadow import ImageShadowJob, image_shadow_records
from edgeloop.service_layer.scored_images import ScoredImages
from edgeloop.service_layer.scoring import Evaluation, evaluate
from edgeloop.service_layer.tabular_shadow import ShadowJob, tabular_shadow_records

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_BATCHES = 64
DEFAULT_BUSY_SHARE = 0.25  # the worker works at most a quarter of the time (SCORING_SHADOW_BUSY_SHARE)
MAX_ROUND_JOBS = 64  # queued scorings taken into one shadow call and one outbox entry
# ... and at most about this many rows: the entry's transaction holds the outbox's write lock, which
# the answers' commits wait for, so it stays short.
MAX_ROUND_ROWS = 2000
# Decoded frames waiting for an image shadow, at most (SCORING_SHADOW_QUEUE_FRAME_MIB).
DEFAULT_QUEUE_FRAME_BYTES = 256 * 2**20


class ShadowSlot:
    """The shadow model beside the served one, or none (no shadow pointer names this site)."""

    def __init__(self, model: ScoringModel | None = None) -> None:
        self._model = model

    @property
    def model(self) -> ScoringModel | None:
        return self._model

    def set(self, model: ScoringModel | None) -> None:
        self._model = model  # one reference assignment: a batch in flight keeps the model it read


Job = ShadowJob | ImageShadowJob


@dataclass(frozen=True, slots=True)
class ShadowStats:
    version: str | None
    queued: int
    capacity: int
    batches: int
    rows: int
    dropped_rows: int
    failed_rows: int
    last_error: str | None


class ShadowScorer:
    def __init__(
        self,
        outbox: Outbox,
        site_id: str,
        slot: ShadowSlot,
        capacity: int = DEFAULT_QUEUE_BATCHES,
        *,
        busy_share: float = 1.0,
        max_frame_bytes: int = DEFAULT_QUEUE_FRAME_BYTES,
        score: Callable[[ScoringModel, FeatureColumns], Evaluation] = evaluate,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``busy_share``: the most of its time the worker spends working (after a round that took t
        seconds it rests t * (1 / busy_share - 1)), which bounds what it takes from the answer path;
        the rows that do not fit meanwhile fill the queue and are dropped, counted."""
        if not 0 < busy_share <= 1:
            raise ValueError("busy_share must be in (0, 1]")
        self._outbox, self._site_id, self._slot = outbox, site_id, slot
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=max(capacity, 1))
        self._capacity, self._busy_share = max(capacity, 1), busy_share
        self._score, self._clock = score, clock
        self._resting = threading.Event()  # set by stop: no rest before the end
        self._lock = threading.Lock()  # the counts below
        self._batches = self._rows = self._dropped = self._failed = 0
        self._frame_bytes, self._max_frame_bytes = 0, max_frame_bytes  # the queued frames' bytes
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="shadow-scoring", daemon=True)

    @property
    def slot(self) -> ShadowSlot:
        return self._slot

    def start(self) -> ShadowScorer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Let the worker finish what is queued, then end it."""
        self._resting.set()
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def offer(self, served: Evaluation, batch_id: str, scored_at: datetime) -> bool:
        """Queue one committed scoring for the shadow; False (counted) when full or no shadow."""
        if self._slot.model is None:
            return False
        return self._put(ShadowJob(served, batch_id, scored_at))

    def offer_frames(
        self, served: ScoredImages, batches: Sequence[Sequence[npt.NDArray[np.uint8]]], scored_at: datetime
    ) -> bool:
        """Queue one committed image batch (its frames, one list per graph call) for the shadow;
        False (counted) when full or no shadow. The frames are held, not copied: nothing writes to
        a scored frame."""
        if self._slot.model is None or not served.images:
            return False
        job = ImageShadowJob(served, tuple(batches), scored_at)
        nbytes = job.nbytes
        with self._lock:
            if self._frame_bytes + nbytes > self._max_frame_bytes:
                self._dropped += job.n_rows
                return False
            self._frame_bytes += nbytes
        if not self._put(job):
            self._release([job])
            return False
        return True

    def _release(self, jobs: Sequence[Job]) -> None:
        held = sum(job.nbytes for job in jobs if isinstance(job, ImageShadowJob))
        if held:
            with self._lock:
                self._frame_bytes -= held

    def _put(self, job: Job) -> bool:
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            with self._lock:
                self._dropped += job.n_rows
            return False
        return True

    def drain(self) -> None:
        """Wait until every queued batch was handled (tests and the benchmark use it)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            jobs, ended = self._take(self._queue.get())
            started = self._clock()
            try:
                if jobs:
                    self._handle(jobs)
            finally:
                self._release(jobs)
                for _ in range(len(jobs) + int(ended)):
                    self._queue.task_done()
            if ended:
                return
            self._rest(self._clock() - started)

    def _take(self, item: Job | None) -> tuple[list[Job], bool]:
        """``item`` and what else is queued now, up to MAX_ROUND_JOBS and MAX_ROUND_ROWS; and whether
        the end came."""
        jobs: list[Job] = []
        rows = 0
        while item is not None:
            jobs.append(item)
            rows += item.n_rows
            if len(jobs) >= MAX_ROUND_JOBS or rows >= MAX_ROUND_ROWS:
                return jobs, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return jobs, False
        return jobs, True

    def _rest(self, worked: float) -> None:
        if self._busy_share < 1 and worked > 0:
            self._resting.wait(worked * (1 / self._busy_share - 1))

    def _handle(self, jobs: list[Job]) -> None:
        """One round: the queued scorings' rows through the shadow in one call (an image batch: one
        call each), one outbox entry."""
        model = self._slot.model
        rows = sum(job.n_rows for job in jobs)
        if model is None:  # stopped meanwhile
            return
        try:
            tabular = [job for job in jobs if isinstance(job, ShadowJob)]
            images = [job for job in jobs if isinstance(job, ImageShadowJob)]
            records = image_shadow_records(model, images, self._site_id) if images else []
            if tabular:
                evaluated = self._score(model, concat_columns([job.served.inputs for job in tabular]))
                records += tabular_shadow_records(tabular, evaluated, self._site_id)
            items = [orjson.dumps(record.to_wire()) for record in records]
            self._outbox.append(f"shadow-{jobs[0].batch_id}", SHADOW_INSIGHT_KIND, items)
        except OutboxFull as exc:
            self._count_failure(rows, f"outbox full: {exc}", dropped=True)
        except Exception as exc:  # noqa: BLE001 - a shadow model's fault must never stop the worker
            self._count_failure(rows, f"{type(exc).__name__}: {exc}")
            logger.warning("shadow scoring of %d rows failed: %s", rows, exc)
        else:
            with self._lock:
                self._batches += len(jobs)
                self._rows += rows

    def _count_failure(self, rows: int, reason: str, *, dropped: bool = False) -> None:
        with self._lock:
            if dropped:
                self._dropped += rows
            else:
                self._failed += rows
            self._last_error = reason

    def stats(self) -> ShadowStats:
        model = self._slot.model
        with self._lock:
            return ShadowStats(
                version=None if model is None else model.manifest.version,
                queued=self._queue.qsize(),
                capacity=self._capacity,
                batches=self._batches,
                rows=self._rows,
                dropped_rows=self._dropped,
                failed_rows=self._failed,
                last_error=self._last_error,
            )
