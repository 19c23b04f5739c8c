"""Scoring use case: score validated rows, record one insight per row, answer.

The caller brings the model and the rows already validated against its manifest
(``FeatureColumns``): a request is validated, scored, recorded and answered with one
model, so its answer names the version it was scored with. The insights of a call
are committed to the outbox in one transaction before it returns: an acknowledged
scoring is never lost. Column-wise throughout (edgeloop.wire.insight_columns); one
batch id (one outbox append) names all the rows of a call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from edgeloop.domain.anomaly import detect_anomalies
from edgeloop.domain.insight_ids import new_batch_id
from edgeloop.domain.records import INSIGHT_KIND, format_timestamp, utc_now
from edgeloop.domain.validation import FeatureColumns, concat_columns
from edgeloop.observability.tracing import NO_TRACER
from edgeloop.ports import Outbox, ScoringModel, Tracer
from edgeloop.service_layer.drift_monitor import DriftMonitor
from edgeloop.service_layer.scored_rows import ScoredRows
from edgeloop.wire.insight_columns import InsightColumns
from edgeloop.wire.insight_wire import OutputTexts, output_texts, prediction_texts
from edgeloop.wire.packing import MAX_ITEM_BYTES
from edgeloop.wire.trace_context import distinct_traceparents


class NoModelYet(RuntimeError):
    """This site serves no model yet (a new site waiting for its first champion); says why."""


class ModelHolder:
    """The model scoring uses right now, or none yet (a site that bootstraps from the registry).

    A swap is one reference assignment (atomic under the GIL): a caller reads
    ``current`` once and scores, records and answers with that same model. While the
    holder is empty, ``current`` raises :class:`NoModelYet` with the latest reason.
    """

    def __init__(self, model: ScoringModel | None, waiting_reason: str = "no model yet") -> None:
        self._model = model
        self._waiting_reason = waiting_reason
        self._swap_lock = threading.Lock()
        self._listeners: list[Callable[[ScoringModel], None]] = []

    def on_swap(self, listener: Callable[[ScoringModel], None]) -> None:
        """Call ``listener`` with each model swapped in (once it serves): e.g. a new drift window."""
        self._listeners.append(listener)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def current(self) -> ScoringModel:
        model = self._model
        if model is None:
            raise NoModelYet(self._waiting_reason)
        return model

    @property
    def waiting_reason(self) -> str | None:
        """Why no model is served; None once one is."""
        return None if self._model is not None else self._waiting_reason

    def waiting_for(self, reason: str) -> None:
        """Why the holder is still empty (the registry's latest answer); kept until a model arrives."""
        self._waiting_reason = reason

    def swap(self, model: ScoringModel) -> ScoringModel | None:
        """Install ``model``; returns the one it replaced (None: the site's first)."""
        with self._swap_lock:
            previous, self._model = self._model, model
            for listener in self._listeners:
                listener(model)
        return previous


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Rows scored by one model, not yet named nor recorded; kept as columns."""

    model: ScoringModel
    inputs: FeatureColumns
    outputs: dict[str, OutputTexts]  # per manifest output name, in manifest order
    anomaly: list[bool]
    anomaly_kinds: list[tuple[str, ...]]
    context: list[dict[str, str]]
    prediction: OutputTexts | None = None  # a model that is not binary: its class name or value

    @property
    def n_rows(self) -> int:
        return len(self.anomaly)

    def scored_rows(self, batch_id: str, offset: int = 0) -> ScoredRows:
        """The answer's rows: row ``i`` is insight ``insight_id_of(batch_id, offset + i)``."""
        manifest = self.model.manifest
        return ScoredRows(
            batch_id,
            manifest.name,
            manifest.version,
            offset,
            self.outputs,
            self.anomaly,
            self.anomaly_kinds,
            self.prediction,
        )

    def insights(
        self,
        site_id: str,
        scored_at: datetime,
        batch_id: str,
        offset: int = 0,
        traceparent: str | None = None,
    ) -> InsightColumns:
        """The insights to record for these rows, named as :meth:`scored_rows` names them."""
        manifest = self.model.manifest
        model = {"name": manifest.name, "version": manifest.version, "sha256": self.model.sha256}
        if manifest.task.kind != "binary":  # absent: binary, as in every record before tasks
            model["task"] = manifest.task.kind
        numeric = self.inputs.numeric
        inputs = {
            name: numeric[name] if name in numeric else self.inputs.column(name).tolist()
            for name in manifest.feature_names
        }
        return InsightColumns(
            site_id,
            format_timestamp(scored_at),
            model,
            batch_id,
            offset,
            inputs,
            self.outputs,
            self.anomaly,
            self.anomaly_kinds,
            self.context,
            traceparent,
            self.prediction,
        )


def evaluate(model: ScoringModel, columns: FeatureColumns) -> Evaluation:
    """Score validated rows (model outputs, anomaly flags, the task's prediction); records nothing."""
    manifest = model.manifest
    outputs = model.predict(columns)
    flags, kinds = detect_anomalies(manifest, outputs)
    output_columns = {name: output_texts(outputs[name]) for name in manifest.output_names}
    prediction = prediction_texts(manifest.task, outputs, output_columns)
    return Evaluation(model, columns, output_columns, flags.tolist(), kinds, columns.context, prediction)


# ShadowScorer.offer (edgeloop.service_layer.shadow_scoring): queues a committed scoring, never blocks.
ShadowOffer = Callable[[Evaluation, str, datetime], object]


class ScoringService:
    def __init__(
        self,
        outbox: Outbox,
        site_id: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        batch_ids: Callable[[], str] = new_batch_id,
        tracer: Tracer = NO_TRACER,
        drift: DriftMonitor | None = None,
        shadow: ShadowOffer | None = None,
    ) -> None:
        self._outbox = outbox
        self._drift = drift  # set: each scoring's rows go into the drift window once committed
        self._shadow = shadow  # set: each committed scoring is offered to the shadow model (never waits)
        self._site_id = site_id
        self._clock = clock
        self._batch_ids = batch_ids
        self._tracer = tracer

    def score(self, model: ScoringModel, columns: FeatureColumns) -> ScoredRows:
        """Score one request's rows and commit their insights; raises OutboxFull (or the outbox's error)."""
        return self.score_many(model, [columns])[0]

    def score_many(
        self,
        model: ScoringModel,
        requests: Sequence[FeatureColumns],
        traceparents: Sequence[str | None] = (),
    ) -> list[ScoredRows]:
        """Score several requests' rows together and commit all their insights in one transaction.

        A model call costs about the same for one row as for dozens, and so does the
        outbox's fsync for one record or thousands. Every request gets its own rows back,
        in order; they share one batch id, a request's rows numbered from its offset in it.
        Raises OutboxFull (or the outbox's error) for all when the commit fails.
        ``traceparents``: the requests' spans, when traced; the group's one span is a child of
        the first and links the others, and its traceparent goes with the insights.
        """
        if not requests:
            return []
        if not self._tracer.enabled:
            return self._score_many(model, requests, None)
        parents = distinct_traceparents(traceparents)
        with self._tracer.span(
            "edgeloop.score",
            parent=parents[0] if parents else None,
            links=parents[1:],
            attributes={"edgeloop.requests": len(requests)},
        ) as traceparent:
            return self._score_many(model, requests, traceparent)

    def _score_many(
        self, model: ScoringModel, requests: Sequence[FeatureColumns], traceparent: str | None
    ) -> list[ScoredRows]:
        evaluation = evaluate(model, concat_columns(requests))
        batch_id, scored_at = self._batch_ids(), self._clock()
        scored = evaluation.scored_rows(batch_id)
        parts: list[ScoredRows] = []
        start = 0
        for columns in requests:
            parts.append(scored.rows(start, start + columns.n_rows))
            start += columns.n_rows
        insights = evaluation.insights(self._site_id, scored_at, batch_id, traceparent=traceparent)
        items = [document for document, _ in insights.documents(MAX_ITEM_BYTES)]
        self._outbox.append(batch_id, INSIGHT_KIND, items, record_count=evaluation.n_rows)
        if self._drift is not None:
            self._drift.observe(evaluation.inputs)
        if self._shadow is not None:
            self._shadow(evaluation, batch_id, scored_at)
        return parts
