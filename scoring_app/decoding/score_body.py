"""A scoring body (``{"rows": [...]}``, raw JSON) read into validated columns for one model.

The fast decoder (msgspec, scoring_app.decoding.fast_rows) goes first; whatever it is
not sure of goes the thorough way (orjson, ``rows_of``, ``validate_rows``), which names
every problem by row and field: the answer to bad input is the same either way.
"""

from __future__ import annotations

from typing import Any

import orjson

from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.problems import invalid_rows
from edgeloop.domain.validation import FeatureColumns, RowValidationError, validate_rows
from scoring_app.decoding.envelope import rows_of
from scoring_app.decoding.fast_rows import RowsDecoder
from scoring_app.errors import ApiError

IMAGES_PATH = "/api/v1/score/images"


class ScoreBodyReader:
    """Reads scoring bodies for the model at hand; keeps the latest model's fast decoder."""

    def __init__(self, max_rows: int) -> None:
        self._max_rows = max_rows
        self._decoder: RowsDecoder | None = None  # one slot: a swap to a new model replaces it

    def columns(self, body: bytes, manifest: ModelManifest) -> FeatureColumns:
        """The body's rows as columns; raises InvalidInput naming row and field, ApiError 400 if not JSON."""
        if manifest.image_input is not None:
            raise ApiError(
                409, f"model {manifest.name} takes images: POST them to {IMAGES_PATH} (docs/vision.md)"
            )
        fast = self.decoder(manifest).decode(body)
        if fast is not None:
            return fast
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"body is not valid JSON: {exc}") from None
        return validated_columns(manifest, rows_of(decoded, self._max_rows))

    def json_schema(self, manifest: ModelManifest) -> dict[str, Any]:
        """The JSON Schema of the bodies :meth:`columns` accepts for ``manifest``."""
        return self.decoder(manifest).json_schema()

    def decoder(self, manifest: ModelManifest) -> RowsDecoder:
        decoder = self._decoder
        if decoder is None or decoder.manifest is not manifest:
            decoder = self._decoder = RowsDecoder(manifest, self._max_rows)
        return decoder


def validated_columns(manifest: ModelManifest, rows: list[Any]) -> FeatureColumns:
    """Decoded rows validated against ``manifest``; raises InvalidInput naming row and field."""
    try:
        return validate_rows(manifest, rows)
    except RowValidationError as exc:
        raise invalid_rows(exc) from None
