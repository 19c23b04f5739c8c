"""Shadow scoring: the challenger scores the rows the champion answered, never in the answer.

Contract: :meth:`ShadowScorer.offer` is called by the scoring use case *after* the answer's
insights are committed, with that scoring's evaluation; it only puts it on a bounded queue
(``put_nowait``, O(1)) and returns. When the queue is full the rows are dropped and counted:
the answer path never waits for the shadow. One worker thread takes each batch, scores the
same validated rows with the shadow model (the :class:`ShadowSlot`'s, set by shadow delivery)
and commits one ``shadow_insight`` record per row (edgeloop.domain.shadow_records) as one
outbox entry. A shadow model that raises, or an outbox that refuses, is counted and logged;
nothing of it reaches the answer. Figures (:meth:`stats`) go to ``/metrics`` and ``readyz``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson

from edgeloop.domain.insight_ids import insight_id_of
from edgeloop.domain.records import Label, ModelRef
from edgeloop.domain.shadow_records import SHADOW_INSIGHT_KIND, ServedOutcome, ShadowInsightRecord
from edgeloop.ports import Outbox, OutboxFull, ScoringModel
from edgeloop.service_layer.scoring import Evaluation, evaluate

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_BATCHES = 64


class ShadowSlot:
    """The shadow model beside the served one, or none (no shadow pointer names this site)."""

    def __init__(self, model: ScoringModel | None = None) -> None:
        self._model = model

    @property
    def model(self) -> ScoringModel | None:
        return self._model

    def set(self, model: ScoringModel | None) -> None:
        self._model = model  # one reference assignment: a batch in flight keeps the model it read


@dataclass(frozen=True, slots=True)
class ShadowJob:
    served: Evaluation
    batch_id: str
    scored_at: datetime


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
        score: Callable[[ScoringModel, Evaluation], Evaluation] | None = None,
    ) -> None:
        self._outbox, self._site_id, self._slot = outbox, site_id, slot
        self._queue: queue.Queue[ShadowJob | None] = queue.Queue(maxsize=capacity)
        self._capacity = capacity
        self._score = score or (lambda model, served: evaluate(model, served.inputs))
        self._lock = threading.Lock()  # the counts below
        self._batches = self._rows = self._dropped = self._failed = 0
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
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def offer(self, served: Evaluation, batch_id: str, scored_at: datetime) -> bool:
        """Queue one committed scoring for the shadow; False (counted) when full or no shadow."""
        if self._slot.model is None:
            return False
        try:
            self._queue.put_nowait(ShadowJob(served, batch_id, scored_at))
        except queue.Full:
            with self._lock:
                self._dropped += served.n_rows
            return False
        return True

    def drain(self) -> None:
        """Wait until every queued batch was handled (tests and the benchmark use it)."""
        self._queue.join()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                self._handle(job)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _handle(self, job: ShadowJob) -> None:
        model = self._slot.model
        if model is None:  # stopped meanwhile
            return
        rows = job.served.n_rows
        try:
            shadow = self._score(model, job.served)
            items = [orjson.dumps(record.to_wire()) for record in self._records(job, shadow)]
            self._outbox.append(f"shadow-{job.batch_id}", SHADOW_INSIGHT_KIND, items)
        except OutboxFull as exc:
            self._count_failure(rows, f"outbox full: {exc}", dropped=True)
        except Exception as exc:  # noqa: BLE001 - a shadow model's fault must never stop the worker
            self._count_failure(rows, f"{type(exc).__name__}: {exc}")
            logger.warning("shadow scoring of %d rows failed: %s", rows, exc)
        else:
            with self._lock:
                self._batches += 1
                self._rows += rows

    def _count_failure(self, rows: int, reason: str, *, dropped: bool = False) -> None:
        with self._lock:
            if dropped:
                self._dropped += rows
            else:
                self._failed += rows
            self._last_error = reason

    def _records(self, job: ShadowJob, shadow: Evaluation) -> list[ShadowInsightRecord]:
        manifest, served = shadow.model.manifest, job.served
        ref = ModelRef(manifest.name, manifest.version, shadow.model.sha256, manifest.task.kind)
        served_version = served.model.manifest.version
        served_predictions = _labels(served.prediction, served.n_rows)
        predictions = _labels(shadow.prediction, shadow.n_rows)
        outputs = {name: [orjson.loads(text) for text in texts] for name, texts in shadow.outputs.items()}
        return [
            ShadowInsightRecord(
                insight_id=insight_id_of(job.batch_id, row),
                site_id=self._site_id,
                scored_at=job.scored_at,
                model=ref,
                served=ServedOutcome(served_version, served.anomaly[row], served_predictions[row]),
                outputs={name: values[row] for name, values in outputs.items()},
                anomaly=shadow.anomaly[row],
                anomaly_kinds=shadow.anomaly_kinds[row],
                prediction=predictions[row],
            )
            for row in range(shadow.n_rows)
        ]

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


def _labels(texts: list[bytes] | None, rows: int) -> list[Label | None]:
    """A prediction column's JSON texts as values (None throughout for a binary model)."""
    if texts is None:
        return [None] * rows
    return [orjson.loads(text) for text in texts]
