"""Decode a scoring request body straight into validated columns, in one msgspec pass.

The thorough path (scoring_app.decoding.score_body: orjson, ``rows_of``,
``validate_rows``) names every problem but builds a dict per row first. For a clean
body, msgspec can decode and check it at once against types built from the manifest:
features as bounded floats or literal categories, the context fields as
length-limited strings, nothing else allowed.

Contract: when :meth:`RowsDecoder.decode` returns columns, the thorough path accepts
the same body and returns equal columns; when it returns None the caller runs the
thorough path, which then says what is wrong (or accepts: "None" means "not sure").
The one known "not sure" for a body the thorough path accepts: a key given twice whose
earlier value is invalid (orjson keeps the last value only; msgspec checks each).
Reference and property test: tests/support/rows_reference.py, tests/unit/test_row_decoding.py.
The same types are the body's JSON Schema in the OpenAPI document (:meth:`RowsDecoder.json_schema`).
"""

from __future__ import annotations

import sys
from operator import attrgetter
from typing import Annotated, Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from edgeloop.domain.manifest import InputSpec, ModelManifest
from edgeloop.domain.validation import CONTEXT_MAX_LENGTHS, FeatureColumns

# Unbounded sides still exclude the infinities (validate_rows wants finite numbers).
_LOWEST = -sys.float_info.max
_HIGHEST = sys.float_info.max


class RowsDecoder:
    """A request body decoded straight into validated FeatureColumns, for one manifest (msgspec)."""

    def __init__(self, manifest: ModelManifest, max_rows: int) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self._manifest = manifest
        # Features get neutral attribute names (f0, f1, ...) renamed to their JSON names, so a
        # feature may be called anything the manifest allows (``class``, ``f1``) without a clash.
        attributes = {spec.name: f"f{index}" for index, spec in enumerate(manifest.inputs)}
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [
            (attributes[spec.name], _feature_type(spec)) for spec in manifest.inputs
        ]
        fields += [
            (name, Annotated[str, msgspec.Meta(max_length=limit)] | None, None)
            for name, limit in CONTEXT_MAX_LENGTHS.items()
        ]
        # gc=False: a row holds only floats and strings, so it can never be part of a cycle.
        row_type = msgspec.defstruct(
            "ScoringRow",
            fields,
            rename={attribute: name for name, attribute in attributes.items()},
            forbid_unknown_fields=True,
            gc=False,
        )
        row_count = msgspec.Meta(min_length=1, max_length=max_rows)
        rows_type = Annotated[list[row_type], row_count]  # type: ignore[valid-type]
        body_type = msgspec.defstruct("ScoringBody", [("rows", rows_type)], forbid_unknown_fields=True)
        self._body_type = body_type
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(body_type)
        self._numeric = tuple(
            (spec.name, attrgetter(attributes[spec.name]))
            for spec in manifest.inputs
            if spec.type == "number"
        )
        self._categorical = tuple(
            (spec.name, attrgetter(attributes[spec.name]))
            for spec in manifest.inputs
            if spec.type != "number"
        )
        self._context_fields = tuple((name, attrgetter(name)) for name in CONTEXT_MAX_LENGTHS)

    @property
    def manifest(self) -> ModelManifest:
        return self._manifest

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the bodies this decoder accepts (self-contained: no ``$ref``)."""
        schema = msgspec.json.schema(self._body_type)
        definitions = schema.pop("$defs", {})
        inlined: dict[str, Any] = _inline(schema, definitions)
        return inlined

    def decode(self, body: bytes) -> FeatureColumns | None:
        """The rows of a clean request body as validated columns; None for anything else.

        None means "not sure": the caller then runs the thorough path (orjson, rows_of,
        validate_rows), which names every problem.
        """
        try:
            rows: list[Any] = self._decoder.decode(body).rows
        # UnicodeDecodeError: msgspec's word for invalid UTF-8 inside a string (orjson refuses it too).
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
            return None
        return FeatureColumns(
            self._numeric_columns(rows),
            {name: _object_column(list(map(pick, rows))) for name, pick in self._categorical},
            self._context(rows),
            len(rows),
            self._manifest.feature_names,
        )

    def _numeric_columns(self, rows: list[Any]) -> dict[str, npt.NDArray[np.floating[Any]]]:
        """One contiguous float64 array per numeric feature (the values are floats already)."""
        n_rows = len(rows)
        return {name: np.fromiter(map(pick, rows), np.float64, n_rows) for name, pick in self._numeric}

    def _context(self, rows: list[Any]) -> list[dict[str, str]]:
        """Per row, the context fields given and not null (empty strings included), in field order.

        Field by field: a field no row gives costs one pass and no dict work, and the common
        case of one field given in every row builds each row's dict at once.
        """
        n_rows = len(rows)
        given: list[tuple[str, list[Any], int]] = []
        for name, pick in self._context_fields:
            values = list(map(pick, rows))
            missing = values.count(None)
            if missing < n_rows:
                given.append((name, values, missing))
        if len(given) == 1 and given[0][2] == 0:
            name, values, _ = given[0]
            return [{name: value} for value in values]
        context: list[dict[str, str]] = [{} for _ in range(n_rows)]
        for name, values, _ in given:
            for fields, value in zip(context, values, strict=True):
                if value is not None:
                    fields[name] = value
        return context


def _feature_type(spec: InputSpec) -> Any:
    if spec.type == "number":
        low = _LOWEST if spec.min is None else spec.min
        high = _HIGHEST if spec.max is None else spec.max
        return Annotated[float, msgspec.Meta(ge=low, le=high)]
    return Literal[tuple(spec.categories or ())]


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    """``schema`` with every ``{"$ref": "#/$defs/name"}`` replaced by that definition (no title)."""
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _inline({k: v for k, v in definitions[name].items() if k != "title"}, definitions)
    return {key: _inline(value, definitions) for key, value in schema.items()}


def _object_column(values: list[str]) -> npt.NDArray[np.object_]:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column
