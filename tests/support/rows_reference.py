"""A scoring body read into columns the plain way: the oracle of scoring_app/decoding.

Parse the whole body (orjson), check the envelope by hand, validate the rows
(``validate_rows``, the domain's thorough path). Slow on purpose: a dict per row,
no msgspec. The fast decoder (scoring_app.decoding.fast_rows.RowsDecoder) must never
accept what this refuses, nor give other columns; the door the app uses
(scoring_app.decoding.score_body.ScoreBodyReader) must agree with it on every body.
"""

from __future__ import annotations

import orjson

from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.validation import FeatureColumns, RowValidationError, validate_rows


def reference_columns(manifest: ModelManifest, body: bytes, max_rows: int) -> FeatureColumns | None:
    """The columns of ``body`` (``{"rows": [...]}``, 1 to ``max_rows`` valid rows); None if refused."""
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(decoded, dict) or list(decoded) != ["rows"]:
        return None
    rows = decoded["rows"]
    if not isinstance(rows, list) or not 1 <= len(rows) <= max_rows:
        return None
    try:
        return validate_rows(manifest, rows)
    except RowValidationError:
        return None
