"""Scoring use case: validate rows, run the model, record one insight per row, answer.

The insights of a request are committed to the outbox in one transaction before
the caller answers, so an acknowledged scoring is never lost. This is the hot
path of the edge: everything is done column-wise (validation, model, anomaly flags,
wire records; see edgeloop.domain.insight_wire), no per-row model objects, and one
uuid4 per batch names all its rows.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edgeloop.domain.anomaly import detect_anomalies
from edgeloop.domain.insight_wire import float_values, insight_records, repeated_values
from edgeloop.domain.records import SCHEMA_VERSION, format_timestamp, utc_now
from edgeloop.domain.validation import FeatureColumns, RowValidationError, validate_rows
from edgeloop.ports import Outbox, ScoringModel
from edgeloop.service_layer.scored_batch import ScoredBatch as ScoredBatch

INSIGHT_KIND = "insight"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: ``row`` (or item) index and ``field``, when they apply."""

    row: int | None
    field: str | None
    message: str


class InvalidInput(ValueError):
    """A request that is refused as a whole; nothing of it was recorded."""

    status_code = 422

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(
            "; ".join(p.message if p.field is None else f"{p.field}: {p.message}" for p in problems)
        )
        self.problems = list(problems)


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
    outputs: dict[str, list[float]]  # per manifest output name, in manifest order
    anomaly: list[bool]
    anomaly_kinds: list[tuple[str, ...]]
    context: list[dict[str, str]]

    @property
    def n_rows(self) -> int:
        return len(self.anomaly)

    def build(self, batch_id: str, offset: int = 0) -> ScoredBatch:
        """Name row ``i`` ``{batch_id}-{offset + i:05d}``; the wire records come from :meth:`records`."""
        manifest = self.model.manifest
        ids = [f"{batch_id}-{offset + index:05d}" for index in range(self.n_rows)]
        return ScoredBatch(
            batch_id, manifest.name, manifest.version, ids, self.outputs, self.anomaly, self.anomaly_kinds
        )

    def records(self, site_id: str, scored_at: datetime, scored: ScoredBatch) -> list[bytes]:
        """The insight wire records (edgeloop.domain.records format) of ``scored``, serialized."""
        manifest = self.model.manifest
        shared = {
            "kind": INSIGHT_KIND,
            "schema_version": SCHEMA_VERSION,
            "site_id": site_id,
            "scored_at": format_timestamp(scored_at),
            "model": {"name": manifest.name, "version": manifest.version, "sha256": self.model.sha256},
        }
        inputs = {}
        for name in manifest.feature_names:
            values = self.inputs.column(name).tolist()
            inputs[name] = float_values(values) if name in self.inputs.numeric else repeated_values(values)
        outputs = {name: float_values(values) for name, values in self.outputs.items()}
        return insight_records(
            shared, scored.insight_ids, inputs, outputs, self.anomaly, self.anomaly_kinds, self.context
        )


def rows_of(body: Any, max_rows: int) -> list[Any]:
    """The ``rows`` of a decoded request body, or :class:`InvalidInput` saying what is wrong."""
    if type(body) is not dict:
        raise InvalidInput([Problem(None, None, 'body must be a JSON object {"rows": [...]}')])
    unknown = [key for key in body if key != "rows"]
    if unknown:
        raise InvalidInput(
            [Problem(None, str(key)[:64], "is not a known field (expected rows)") for key in unknown]
        )
    if "rows" not in body:
        raise InvalidInput([Problem(None, "rows", "is missing")])
    rows = body["rows"]
    if type(rows) is not list:
        raise InvalidInput([Problem(None, "rows", "must be a list of row objects")])
    if not rows:
        raise InvalidInput([Problem(None, "rows", "must hold at least one row")])
    if len(rows) > max_rows:
        raise InvalidInput([Problem(None, "rows", f"at most {max_rows} rows per request, got {len(rows)}")])
    return rows


class ScoringService:
    def __init__(
        self,
        model: Callable[[], ScoringModel],
        outbox: Outbox,
        site_id: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        batch_ids: Callable[[], str] = new_batch_id,
    ) -> None:
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

    def evaluate(self, rows: Sequence[Any], model: ScoringModel | None = None) -> Evaluation:
        """Validate and score rows (raises InvalidInput naming row and field); records nothing."""
        model = model or self._model()
        manifest = model.manifest
        try:
            columns = validate_rows(manifest, rows)
        except RowValidationError as exc:
            problems = [Problem(e.row, e.field, e.message) for e in exc.errors]
            if exc.total > len(exc.errors):
                hidden = exc.total - len(exc.errors)
                problems.append(Problem(None, None, f"{hidden} more problems not listed"))
            raise InvalidInput(problems) from None
        outputs = model.predict(columns)
        flags, kinds = detect_anomalies(manifest, outputs)
        output_columns = {name: outputs[name].tolist() for name in manifest.output_names}
        return Evaluation(model, columns, output_columns, flags.tolist(), kinds, columns.context)

    def score(self, rows: Sequence[Any]) -> ScoredBatch:
        """Score one request's rows and commit their insights; raises InvalidInput or OutboxFull."""
        outcome = self.score_many([rows])[0]
        if isinstance(outcome, InvalidInput):
            raise outcome
        return outcome

    def score_many(self, requests: Sequence[Sequence[Any]]) -> list[ScoredBatch | InvalidInput]:
        """Score several requests together and commit all their insights in one transaction.

        Serving systems batch concurrent requests because a model call costs about the
        same for one row as for dozens; so does vectorised validation, and the outbox's
        fsync costs the same for one record as for thousands. Every request gets its own
        outcome, in order: its scored rows, or the InvalidInput naming its own bad rows
        (one bad request never fails its neighbours). All requests share one model (read
        once) and one outbox batch; request k's rows are numbered from its offset in it.
        Raises OutboxFull (or the outbox's error) for all when the commit fails.
        """
        model = self._model()
        outcomes: list[ScoredBatch | InvalidInput | None] = [None] * len(requests)
        # (evaluation, [(request index, first row, end row) within that evaluation])
        parts: list[tuple[Evaluation, list[tuple[int, int, int]]]] = []
        try:
            merged = requests[0] if len(requests) == 1 else [row for rows in requests for row in rows]
            spans, start = [], 0
            for index, rows in enumerate(requests):
                spans.append((index, start, start + len(rows)))
                start += len(rows)
            parts.append((self.evaluate(merged, model), spans))
        except InvalidInput as exc:
            if len(requests) == 1:
                return [exc]
            # Rare: someone sent bad rows. Score request by request so errors name their own rows.
            for index, rows in enumerate(requests):
                try:
                    parts.append((self.evaluate(rows, model), [(index, 0, len(rows))]))
                except InvalidInput as own:
                    outcomes[index] = own
        if parts:
            batch_id, scored_at, offset = self._batch_ids(), self._clock(), 0
            records: list[bytes] = []
            for evaluation, request_spans in parts:
                scored = evaluation.build(batch_id, offset)
                records.extend(evaluation.records(self._site_id, scored_at, scored))
                for index, first, end in request_spans:
                    outcomes[index] = scored.rows(first, end)
                offset += evaluation.n_rows
            self._outbox.append(batch_id, INSIGHT_KIND, records)
        done = [outcome for outcome in outcomes if outcome is not None]
        assert len(done) == len(requests), "every request has an outcome"
        return done
