"""Insight column documents: a scored batch's insights on the wire as columns, not one record each.

The insights of a batch share their kind, schema version, site, scoring time and
model; only the row values differ. So the scoring side records a batch as one
document per few hundred rows, each value list serialized once (orjson), and the
row records exist only where they are read: :func:`expand_columns` turns a document
back into exactly the wire records (edgeloop.domain.records) it stands for. On a
1,000-row request that is a handful of ``orjson.dumps`` calls instead of a thousand
record templates, and about a fifth of the bytes to store, compress and send.

Layout: ``{"kind": "insight_columns", "schema_version", "site_id", "scored_at",
"model", "batch_id", "first", "count", "inputs": {name: [..]}, "outputs": {name: [..]},
"anomaly": [..], "anomaly_kinds": [[..]], "context": [{..}]}``; row ``i`` is the
insight ``insight_id_of(batch_id, first + i)``. A model that is not binary adds ``"task"`` to
``model`` and ``"prediction": [..]`` (class names or values) after ``anomaly_kinds``, as its
records have them (edgeloop.domain.records); a binary model's documents are as before.
A traced scoring adds ``"traceparent"`` right after ``kind`` (edgeloop.wire.trace_context: ids
only), where the relay reads it from the document's first bytes without parsing it; records
never carry it. Pure: orjson and numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from edgeloop.domain.insight_ids import insight_id_of
from edgeloop.domain.records import INSIGHT_KIND, SCHEMA_VERSION
from edgeloop.wire.insight_wire import json_array
from edgeloop.wire.trace_context import TRACEPARENT_LENGTH, valid_traceparent

COLUMNS_KIND = "insight_columns"
_TRACED_PREFIX = b'{"kind":"insight_columns","traceparent":"'
_SAMPLE_ROWS = 64  # rows serialized to size a large batch's documents


@dataclass(frozen=True, slots=True)
class InsightColumns:
    """A batch's scored rows as columns, with what every row shares; item ``i`` of each list is row ``i``."""

    site_id: str
    scored_at: str  # already in the wire format (records.format_timestamp)
    model: Mapping[str, str]  # name, version, sha256 (and task, when not binary)
    batch_id: str
    first: int  # the batch row number of row 0
    # Per feature, manifest order: floats (a float64 array serializes in C, as a list would)
    # or category strings.
    inputs: Mapping[str, Sequence[Any] | npt.NDArray[np.floating[Any]]]
    outputs: Mapping[str, list[bytes]]  # per manifest output name: each row's JSON number text
    anomaly: list[bool]
    anomaly_kinds: Sequence[Sequence[str]]
    context: Sequence[Mapping[str, str]]
    traceparent: str | None = None  # the scoring's span (W3C), when traced
    # Each row's prediction as JSON text (a class name or a value; ``null`` if the output was
    # not finite); None for a binary model, whose documents carry no prediction.
    prediction: list[bytes] | None = None

    @property
    def count(self) -> int:
        return len(self.anomaly)

    def rows(self, start: int, end: int) -> InsightColumns:
        return InsightColumns(
            self.site_id,
            self.scored_at,
            self.model,
            self.batch_id,
            self.first + start,
            {name: values[start:end] for name, values in self.inputs.items()},
            {name: values[start:end] for name, values in self.outputs.items()},
            self.anomaly[start:end],
            self.anomaly_kinds[start:end],
            self.context[start:end],
            self.traceparent,
            None if self.prediction is None else self.prediction[start:end],
        )

    def document(self) -> bytes:
        """This batch as one column document (single-line JSON)."""
        traced = {"traceparent": self.traceparent} if self.traceparent is not None else {}
        predicted = {}
        if self.prediction is not None:
            predicted["prediction"] = orjson.Fragment(json_array(self.prediction))
        return orjson.dumps(
            {
                "kind": COLUMNS_KIND,
                **traced,
                "schema_version": SCHEMA_VERSION,
                "site_id": self.site_id,
                "scored_at": self.scored_at,
                "model": self.model,
                "batch_id": self.batch_id,
                "first": self.first,
                "count": self.count,
                "inputs": self.inputs,
                "outputs": {name: orjson.Fragment(json_array(texts)) for name, texts in self.outputs.items()},
                "anomaly": self.anomaly,
                "anomaly_kinds": self.anomaly_kinds,
                **predicted,
                "context": self.context,
            },
            option=orjson.OPT_SERIALIZE_NUMPY,
        )

    def documents(self, max_bytes: int) -> list[tuple[bytes, int]]:
        """This batch as column documents of at most ``max_bytes`` each; ``(document, rows)`` in row order.

        Sized so that each document fits a queue message alone, however badly it compresses.
        Raises ValueError if a single row does not fit (validation bounds rows well below that).
        """
        if self.count <= _SAMPLE_ROWS:
            return self._fitted(max_bytes)
        # Equal runs of rows, sized by the rows of a sample (serializing a large batch whole
        # first would cost a second pass); a run that still overflows (its rows are longer
        # than the sample's) is halved until it fits.
        estimate = len(self.rows(0, _SAMPLE_ROWS).document()) * self.count // _SAMPLE_ROWS
        runs = -(-estimate * 5 // (max_bytes * 4))  # ceil(estimate / 80% of the bound)
        step = -(-self.count // runs)
        found: list[tuple[bytes, int]] = []
        for start in range(0, self.count, step):
            found.extend(self.rows(start, min(start + step, self.count))._fitted(max_bytes))
        return found

    def _fitted(self, max_bytes: int) -> list[tuple[bytes, int]]:
        document = self.document()
        if len(document) <= max_bytes:
            return [(document, self.count)]
        if self.count == 1:
            raise ValueError(f"one insight takes {len(document)} bytes, more than a message holds")
        half = self.count // 2
        return self.rows(0, half)._fitted(max_bytes) + self.rows(half, self.count)._fitted(max_bytes)


def document_traceparent(document: bytes) -> str | None:
    """The traceparent a serialized column document starts with, or None (read, not parsed)."""
    if not document.startswith(_TRACED_PREFIX):
        return None
    start = len(_TRACED_PREFIX)
    return valid_traceparent(document[start : start + TRACEPARENT_LENGTH].decode("ascii", "replace"))


def item_traceparents(items: Sequence[Any]) -> list[Any]:
    """The traceparent field of each decoded column document among ``items`` (unchecked)."""
    return [item.get("traceparent") for item in items if is_columns(item)]


def is_columns(item: Any) -> bool:
    return type(item) is dict and item.get("kind") == COLUMNS_KIND


def expand_columns(document: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The insight wire records a column document stands for, in row order; None if it is malformed.

    A malformed document is left to the caller, which passes it on as it is: the record
    checks then reject it (its kind is not a record kind), so it is quarantined, not dropped.
    """
    try:
        count = document["count"]
        batch_id = document["batch_id"]
        first = document["first"]
        inputs = document["inputs"]
        outputs = document["outputs"]
        anomaly = document["anomaly"]
        kinds = document["anomaly_kinds"]
        context = document["context"]
        model = document["model"]
        shared = (document["schema_version"], document["site_id"], document["scored_at"])
    except (KeyError, TypeError):
        return None
    prediction = document.get("prediction")  # only a model that is not binary has one
    per_row = (anomaly, kinds, context) if prediction is None else (anomaly, kinds, context, prediction)
    if not (
        type(count) is int
        and count >= 0
        and type(first) is int
        and first >= 0
        and type(batch_id) is str
        and type(model) is dict
        and type(inputs) is dict
        and type(outputs) is dict
        and all(
            type(column) is list and len(column) == count
            for column in (*per_row, *inputs.values(), *outputs.values())
        )
    ):
        return None
    schema_version, site_id, scored_at = shared
    input_names, output_names = list(inputs), list(outputs)
    input_rows = zip(*inputs.values(), strict=True) if inputs else iter([()] * count)
    output_rows = zip(*outputs.values(), strict=True) if outputs else iter([()] * count)
    records = [
        {
            "kind": INSIGHT_KIND,
            "schema_version": schema_version,
            "site_id": site_id,
            "scored_at": scored_at,
            "model": dict(model),
            "insight_id": insight_id_of(batch_id, first + index),
            "inputs": dict(zip(input_names, input_values, strict=True)),
            "outputs": dict(zip(output_names, output_values, strict=True)),
            "anomaly": flag,
            "anomaly_kinds": row_kinds,
            "context": row_context,
        }
        for index, (input_values, output_values, flag, row_kinds, row_context) in enumerate(
            zip(input_rows, output_rows, anomaly, kinds, context, strict=True)
        )
    ]
    return records if prediction is None else _with_predictions(records, prediction)


def _with_predictions(records: list[dict[str, Any]], prediction: list[Any]) -> list[dict[str, Any]]:
    """``records`` with each row's prediction, in wire order: after anomaly_kinds, before context."""
    for record, value in zip(records, prediction, strict=True):
        row_context = record.pop("context")
        record["prediction"] = value
        record["context"] = row_context
    return records


def expand_items(items: Sequence[Any]) -> list[Any]:
    """Decoded outbox/queue items with every well-formed column document replaced by its records."""
    records: list[Any] = []
    for item in items:
        expanded = expand_columns(item) if is_columns(item) else None
        if expanded is None:
            records.append(item)
        else:
            records.extend(expanded)
    return records
