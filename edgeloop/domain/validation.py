"""Validate scoring rows against a model manifest, column by column.

Rows arrive as decoded JSON (a list of objects). Validation is vectorised per
feature: one pass to pull a column out of the rows, a type check on the set of
value types (fast path when all are right), then numpy for finiteness and
ranges. Per-row Python work happens only to build error messages. Pure: numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.manifest import InputSpec, ModelManifest
from edgeloop.domain.records import ON_SITE_CONTEXT_FIELDS

# Longest accepted value of each on-site context field (characters).
CONTEXT_MAX_LENGTHS: dict[str, int] = {"product_id": 64, "operator": 64, "notes": 2000}
MAX_ERRORS = 50

_NUMBER_TYPES = frozenset({int, float})
_MISSING: Any = object()  # placeholder for a value that is absent or whose row is unusable


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, field {self.field}: {self.message}"


class RowValidationError(ValueError):
    """Rows that cannot be scored; ``errors`` lists them (at most ``MAX_ERRORS``), ``total`` counts all."""

    def __init__(self, errors: list[RowError], total: int | None = None) -> None:
        self.errors = errors
        self.total = len(errors) if total is None else total
        summary = "; ".join(str(error) for error in errors[:3])
        super().__init__(summary + (f" ({self.total} errors)" if self.total > 3 else ""))


@dataclass(frozen=True, slots=True)
class FeatureColumns:
    """Validated rows as columns: numeric features float64, categories object arrays of str."""

    numeric: dict[str, npt.NDArray[np.floating[Any]]]
    categorical: dict[str, npt.NDArray[np.object_]]
    context: list[dict[str, str]]  # per row: the on-site fields given (product_id, operator, notes)
    n_rows: int
    feature_names: tuple[str, ...] = ()  # manifest order; used for input_dicts()

    def column(self, name: str) -> npt.NDArray[Any]:
        if name in self.numeric:
            return self.numeric[name]
        return self.categorical[name]

    def input_dicts(self) -> list[dict[str, float | str]]:
        """Each row's feature values as a dict (manifest order), built column-wise."""
        names = self.feature_names or (*self.numeric, *self.categorical)
        columns = [self.column(name).tolist() for name in names]
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    def row_inputs(self, row: int) -> dict[str, float | str]:
        names = self.feature_names or (*self.numeric, *self.categorical)
        values = {name: self.column(name)[row] for name in names}
        return {
            name: value.item() if isinstance(value, np.generic) else value for name, value in values.items()
        }


def concat_columns(parts: Sequence[FeatureColumns]) -> FeatureColumns:
    """Several validated requests' columns (same manifest) as one, in order: one model call for all."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    return FeatureColumns(
        {name: np.concatenate([part.numeric[name] for part in parts]) for name in first.numeric},
        {name: np.concatenate([part.categorical[name] for part in parts]) for name in first.categorical},
        [given for part in parts for given in part.context],
        sum(part.n_rows for part in parts),
        first.feature_names,
    )


def validate_rows(
    manifest: ModelManifest, rows: Sequence[object], *, max_errors: int = MAX_ERRORS
) -> FeatureColumns:
    """Check rows against the manifest; raise :class:`RowValidationError` listing what is wrong.

    A row is a JSON object with every feature and, optionally, the on-site context fields
    (a ``null`` context field counts as not given). Nothing else is accepted.
    """
    errors: list[RowError] = []
    clean = _check_structure(manifest, rows, errors)
    numeric_specs = [spec for spec in manifest.inputs if spec.type == "number"]
    block = _numeric_block(numeric_specs, rows) if clean else None
    numeric: dict[str, npt.NDArray[np.floating[Any]]] = dict(block or {})
    categorical: dict[str, npt.NDArray[np.object_]] = {}
    for spec in manifest.inputs:
        if spec.name in numeric:
            continue
        if clean:
            values = [row[spec.name] for row in rows]  # type: ignore[index]
        else:
            values = [row.get(spec.name, _MISSING) if type(row) is dict else _MISSING for row in rows]
        if spec.type == "number":
            numeric[spec.name] = _number_column(spec, values, errors)
        else:
            categorical[spec.name] = _category_column(spec, values, errors)
    context = _context_columns(manifest, rows, errors, clean)
    if errors:
        order = {name: index for index, name in enumerate((*manifest.feature_names, *ON_SITE_CONTEXT_FIELDS))}
        errors.sort(key=lambda e: (e.row, order.get(e.field, len(order)), e.field))
        raise RowValidationError(errors[:max_errors], total=len(errors))
    return FeatureColumns(numeric, categorical, context, len(rows), manifest.feature_names)


def _check_structure(manifest: ModelManifest, rows: Sequence[object], errors: list[RowError]) -> bool:
    """Objects only, every feature present, no unknown field. True when all rows are clean."""
    required = frozenset(manifest.feature_names)
    allowed = required | frozenset(ON_SITE_CONTEXT_FIELDS)
    clean = True
    for index, row in enumerate(rows):
        if type(row) is not dict:
            errors.append(RowError(index, "row", f"must be a JSON object, got {_json_type(row)}"))
            clean = False
            continue
        keys = row.keys()
        if keys <= allowed and keys >= required:
            continue
        clean = False
        errors.extend(
            RowError(index, name, "is missing") for name in manifest.feature_names if name not in row
        )
        errors.extend(
            RowError(
                index,
                str(key)[:64],
                "is not a known field (expected the model's features, or product_id, operator, notes)",
            )
            for key in keys
            if key not in allowed
        )
    return clean


def _numeric_block(
    specs: list[InputSpec], rows: Sequence[object]
) -> dict[str, npt.NDArray[np.float64]] | None:
    """Fast path for clean rows: all numeric features in one array and three numpy calls.

    Returns None when any value is off; the per-column path then names each problem.
    """
    names = [spec.name for spec in specs]
    if not names:
        return {}
    # itemgetter pulls a row's values in C; with one name it returns the value, not a tuple.
    pick: Callable[[Any], Sequence[Any]] = (
        itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    )
    values = list(map(pick, rows))
    if not set(map(type, chain.from_iterable(values))) <= _NUMBER_TYPES:
        return None
    try:
        matrix = np.array(values, dtype=np.float64).reshape(len(rows), len(names))
    except OverflowError:
        return None
    lows = np.array([-np.inf if spec.min is None else spec.min for spec in specs])
    highs = np.array([np.inf if spec.max is None else spec.max for spec in specs])
    # NaN fails both comparisons and infinities fail one: no separate finiteness check needed.
    if not ((matrix >= lows) & (matrix <= highs)).all():
        return None
    columns = matrix.T.copy()  # one contiguous row per feature
    return {name: columns[index] for index, name in enumerate(names)}


def _number_column(spec: InputSpec, values: list[Any], errors: list[RowError]) -> npt.NDArray[np.float64]:
    array: npt.NDArray[np.float64] | None = None
    if set(map(type, values)) <= _NUMBER_TYPES:
        try:
            array = np.array(values, dtype=np.float64)
        except OverflowError:  # an integer beyond float range: the slow path names it
            array = None
    checked = np.ones(len(values), dtype=bool)
    if array is None:
        array = np.zeros(len(values), dtype=np.float64)
        for index, value in enumerate(values):
            if value is _MISSING:
                checked[index] = False
            elif type(value) is bool or not isinstance(value, int | float):
                errors.append(RowError(index, spec.name, f"must be a number, got {_json_type(value)}"))
                checked[index] = False
            else:
                try:
                    array[index] = float(value)
                except OverflowError:
                    array[index] = np.inf
    finite = np.isfinite(array)
    for index in np.flatnonzero(checked & ~finite).tolist():
        errors.append(RowError(index, spec.name, f"must be a finite number, got {_show(values[index])}"))
    low = -np.inf if spec.min is None else spec.min  # the manifest guarantees both for numbers
    high = np.inf if spec.max is None else spec.max
    outside = checked & finite & ((array < low) | (array > high))
    for index in np.flatnonzero(outside).tolist():
        errors.append(
            RowError(index, spec.name, f"must be between {low} and {high}, got {_show(values[index])}")
        )
    return array


def _category_column(spec: InputSpec, values: list[Any], errors: list[RowError]) -> npt.NDArray[np.object_]:
    categories = frozenset(spec.categories or ())
    for index, value in enumerate(values):
        if type(value) is str and value in categories:
            continue
        if value is _MISSING:
            continue
        if type(value) is not str:
            errors.append(RowError(index, spec.name, f"must be a string, got {_json_type(value)}"))
        else:
            allowed = ", ".join(spec.categories or ())
            errors.append(RowError(index, spec.name, f"must be one of {allowed}, got {_show(value)}"))
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def _context_columns(
    manifest: ModelManifest, rows: Sequence[object], errors: list[RowError], clean: bool
) -> list[dict[str, str]]:
    n_features = len(manifest.inputs)
    context: list[dict[str, str]] = []
    for index, row in enumerate(rows):
        given: dict[str, str] = {}
        context.append(given)
        if type(row) is not dict:
            continue
        # With clean rows, a row with as many keys as features has no context fields: skip the lookups.
        if clean and len(row) == n_features:
            continue
        for name, limit in CONTEXT_MAX_LENGTHS.items():
            value = row.get(name)
            if value is None:
                continue
            if type(value) is not str:
                errors.append(RowError(index, name, f"must be a string, got {_json_type(value)}"))
            elif len(value) > limit:
                errors.append(RowError(index, name, f"must be at most {limit} characters, got {len(value)}"))
            else:
                given[name] = value
    return context


def _json_type(value: object) -> str:
    """The JSON name of a value's type, for messages that read in API terms."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
