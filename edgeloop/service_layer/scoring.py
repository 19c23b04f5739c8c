"""Scoring use case: validate rows, run the model, record one insight per row, answer.

The insights of a request are committed to the outbox in one transaction before
the caller answers, so an acknowledged scoring is never lost. This is the hot
path of the edge: everything is done column-wise (validation, model, anomaly flags,
and the insights themselves, recorded as column documents: see
edgeloop.wire.insight_columns), no per-row objects, and one uuid4 per batch names
all its rows.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edgeloop.domain.anomaly import detect_anomalies
from edgeloop.domain.records import INSIGHT_KIND, format_timestamp, utc_now
from edgeloop.domain.validation import FeatureColumns, concat_columns
from edgeloop.ports import Outbox, ScoringModel
from edgeloop.service_layer.scored_batch import ScoredBatch as ScoredBatch
from edgeloop.service_layer.scoring_input import InvalidInput as InvalidInput
from edgeloop.service_layer.scoring_input import MalformedBody as MalformedBody
from edgeloop.service_layer.scoring_input import Problem as Problem
from edgeloop.service_layer.scoring_input import RequestReader, ScoringRequest
from edgeloop.service_layer.scoring_input import rows_of as rows_of
from edgeloop.wire.insight_columns import InsightColumns
from edgeloop.wire.insight_wire import output_texts
from edgeloop.wire.packing import MAX_ITEM_BYTES

DEFAULT_MAX_ROWS = 10_000  # rows per request (the API's documented bound)


def new_batch_id() -> str:
    return uuid.uuid4().hex


class ModelHolder:
    """The model scoring uses right now.

    A swap is one reference assignment (atomic under the GIL): a request reads
    ``current`` once and scores, records and answers with that same model, so its
    response names the version it was scored with.
    """

    def __init__(self, model: ScoringModel) -> None:
        self._model = model
        self._swap_lock = threading.Lock()

    @property
    def current(self) -> ScoringModel:
        return self._model

    def __call__(self) -> ScoringModel:
        return self._model

    def swap(self, model: ScoringModel) -> ScoringModel:
        """Install ``model``; returns the one it replaced."""
        with self._swap_lock:
            previous, self._model = self._model, model
        return previous


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A request's rows scored by one model, not yet named nor recorded.

    Kept as columns: the response's per-row dicts and the wire records are each built
    from them in one pass (the hot path of a 1,000-row request).
    """

    model: ScoringModel
    inputs: FeatureColumns
    outputs: dict[str, list[bytes]]  # per manifest output name, in manifest order: JSON texts
    anomaly: list[bool]
    anomaly_kinds: list[tuple[str, ...]]
    context: list[dict[str, str]]

    @property
    def n_rows(self) -> int:
        return len(self.anomaly)

    def build(self, batch_id: str, offset: int = 0) -> ScoredBatch:
        """Name row ``i`` ``{batch_id}-{offset + i:05d}`` (the insights to record: :meth:`columns`)."""
        manifest = self.model.manifest
        return ScoredBatch(
            batch_id, manifest.name, manifest.version, offset, self.outputs, self.anomaly, self.anomaly_kinds
        )

    def columns(self, site_id: str, scored_at: datetime, batch_id: str, offset: int = 0) -> InsightColumns:
        """The insights of these rows, named as :meth:`build` names them."""
        manifest = self.model.manifest
        model = {"name": manifest.name, "version": manifest.version, "sha256": self.model.sha256}
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
        )


class ScoringService:
    def __init__(
        self,
        model: Callable[[], ScoringModel],
        outbox: Outbox,
        site_id: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        batch_ids: Callable[[], str] = new_batch_id,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> None:
        self._reader = RequestReader(max_rows)
        self._model = model
        self._outbox = outbox
        self._site_id = site_id
        self._clock = clock
        self._batch_ids = batch_ids

    @property
    def site_id(self) -> str:
        return self._site_id

    def now(self) -> datetime:
        return self._clock()

    def new_batch_id(self) -> str:
        return self._batch_ids()

    def evaluate(self, rows: Sequence[Any] | FeatureColumns, model: ScoringModel | None = None) -> Evaluation:
        """Validate (unless given columns) and score rows; raises InvalidInput naming row and field.

        Records nothing.
        """
        model = model or self._model()
        manifest = model.manifest
        columns = rows if isinstance(rows, FeatureColumns) else self._reader.columns(rows, manifest)
        outputs = model.predict(columns)
        flags, kinds = detect_anomalies(manifest, outputs)
        output_columns = {name: output_texts(outputs[name]) for name in manifest.output_names}
        return Evaluation(model, columns, output_columns, flags.tolist(), kinds, columns.context)

    def score(self, request: ScoringRequest) -> ScoredBatch:
        """Score one request and commit its insights; raises InvalidInput or OutboxFull."""
        outcome = self.score_many([request])[0]
        if isinstance(outcome, InvalidInput):
            raise outcome
        return outcome

    def score_many(self, requests: Sequence[ScoringRequest]) -> list[ScoredBatch | InvalidInput]:
        """Score several requests together and commit all their insights in one transaction.

        Serving systems batch concurrent requests because a model call costs about the
        same for one row as for dozens, and so does the outbox's fsync for one record
        or thousands. Every request gets its own outcome, in order: its scored rows, or
        the InvalidInput naming its own bad rows (one bad request never fails its
        neighbours). All requests share one model (read once) and one outbox batch;
        a request's rows are numbered from its offset in it. Raises OutboxFull (or the
        outbox's error) for all when the commit fails.
        """
        model = self._model()
        refused: dict[int, InvalidInput] = {}
        accepted: list[tuple[int, FeatureColumns]] = []
        for index, request in enumerate(requests):
            try:
                accepted.append((index, self._reader.columns(request, model.manifest)))
            except InvalidInput as problems:
                refused[index] = problems
        scored_parts: dict[int, ScoredBatch] = {}
        if accepted:
            evaluation = self.evaluate(concat_columns([columns for _, columns in accepted]), model)
            batch_id, scored_at = self._batch_ids(), self._clock()
            scored = evaluation.build(batch_id)
            start = 0
            for index, columns in accepted:
                scored_parts[index] = scored.rows(start, start + columns.n_rows)
                start += columns.n_rows
            insights = evaluation.columns(self._site_id, scored_at, batch_id)
            items = [document for document, _ in insights.documents(MAX_ITEM_BYTES)]
            self._outbox.append(batch_id, INSIGHT_KIND, items, record_count=evaluation.n_rows)
        return [refused[index] if index in refused else scored_parts[index] for index in range(len(requests))]
