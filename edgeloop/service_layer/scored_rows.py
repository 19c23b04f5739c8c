"""What a scoring request gets back: its rows' names, outputs and anomaly flags, kept as columns.

Columns because the answer to a 1,000-row request is written straight from them
(:meth:`ScoredRows.response_json`, edgeloop.wire.insight_wire). Whoever wants values
per row gets them typed: :meth:`ScoredRows.row` (a :class:`ScoredRow`) or
:attr:`ScoredRows.results` (the answer's dicts). A model that is not binary adds each
row's ``prediction`` (the class name or the value) after ``anomaly_kinds``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson

from edgeloop.domain.insight_ids import insight_id_of
from edgeloop.domain.records import Label
from edgeloop.wire.insight_wire import OutputTexts, results_array, text_values
from edgeloop.wire.row_numbers import insight_ids_of, row_number_bytes


@dataclass(frozen=True, slots=True)
class ScoredRow:
    """One scored row: its insight id, each output's value (None: not a finite number), its flags."""

    insight_id: str
    outputs: dict[str, float | None]
    anomaly: bool
    anomaly_kinds: tuple[str, ...]
    prediction: Label | None = None  # class name or value; None for a binary model or a non-finite output


@dataclass(frozen=True, slots=True)
class ScoredRows:
    """A request's scored rows; item ``i`` of every column is the request's row ``i``."""

    batch_id: str
    model_name: str
    model_version: str
    first: int  # the row number in the batch of row 0: row i is ``insight_id_of(batch_id, first + i)``
    outputs: dict[str, OutputTexts]  # per manifest output name, in manifest order
    anomaly: list[bool]
    anomaly_kinds: list[tuple[str, ...]]
    prediction: list[bytes] | None = None  # each row's JSON text; None for a binary model

    @property
    def n_rows(self) -> int:
        return len(self.anomaly)

    @property
    def insight_ids(self) -> list[str]:
        return insight_ids_of(self.batch_id, self.first, self.n_rows)

    def row(self, index: int) -> ScoredRow:
        outputs = {name: text_values(texts[index : index + 1])[0] for name, texts in self.outputs.items()}
        prediction = None if self.prediction is None else text_values(self.prediction[index : index + 1])[0]
        return ScoredRow(
            insight_id_of(self.batch_id, self.first + index),
            outputs,
            self.anomaly[index],
            self.anomaly_kinds[index],
            prediction,
        )

    @property
    def results(self) -> list[dict[str, Any]]:
        """Per row, in request order: insight_id, the outputs by manifest name, anomaly, anomaly_kinds."""
        keys: tuple[str, ...] = ("insight_id", *self.outputs, "anomaly", "anomaly_kinds")
        columns = [text_values(texts) for texts in self.outputs.values()]
        columns += [self.anomaly, self.anomaly_kinds]
        if self.prediction is not None:
            keys += ("prediction",)
            columns.append(text_values(self.prediction))
        rows = zip(self.insight_ids, *columns, strict=True)
        return [dict(zip(keys, row, strict=True)) for row in rows]

    @property
    def anomalies(self) -> int:
        return sum(self.anomaly)

    @property
    def anomaly_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        # Rows share a few distinct kind tuples: count those (in C), then their kinds.
        for kinds, rows in Counter(self.anomaly_kinds).items():
            for kind in kinds:
                counts[kind] = counts.get(kind, 0) + rows
        return counts

    def rows(self, first: int, end: int) -> ScoredRows:
        """Rows ``first`` to ``end`` (a request's share of the rows scored together)."""
        if (first, end) == (0, self.n_rows):
            return self
        return ScoredRows(
            self.batch_id,
            self.model_name,
            self.model_version,
            self.first + first,
            {name: values[first:end] for name, values in self.outputs.items()},
            self.anomaly[first:end],
            self.anomaly_kinds[first:end],
            None if self.prediction is None else self.prediction[first:end],
        )

    def response(self) -> dict[str, Any]:
        return {"model": {"name": self.model_name, "version": self.model_version}, "results": self.results}

    def response_json(self) -> bytes:
        """The JSON of :meth:`response`, written column-wise (edgeloop.wire.insight_wire).

        Byte for byte ``orjson.dumps(self.response())`` but for how a number is spelt where
        the outputs were written at float32 precision.
        """
        fields = {"insight_id", "anomaly", "anomaly_kinds"}
        if self.prediction is not None:
            fields.add("prediction")
        if fields & self.outputs.keys():
            return orjson.dumps(self.response())  # an output shadows a result field: dict semantics
        model = orjson.dumps({"name": self.model_name, "version": self.model_version})
        suffixes = row_number_bytes(self.first, self.n_rows)
        results = results_array(
            self.batch_id, suffixes, self.outputs, self.anomaly, self.anomaly_kinds, self.prediction
        )
        return b'{"model":' + model + b',"results":' + results + b"}"
