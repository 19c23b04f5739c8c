"""Golden rows of an image model: each row one frame, its pixels written into ``golden.json``.

A tabular model's golden rows are scoring-API objects; an image model's input is a frame, so
its row is ``{"<input name>": {"width": W, "height": H, "pixels": "<base64>"}}``: the frame's
``H x W x 3`` uint8 RGB bytes, row by row, as they were before the manifest's preprocessing.
A site decodes them and runs the same preprocessing and graph call as a scored frame
(edgeloop.domain.image_batches), so the check covers the whole image path. Raw pixels, not
JPEG: no decoder's version can change them. Pure: numpy and base64.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.bundle_integrity import GOLDEN_FILE, IntegrityError

MAX_GOLDEN_SIDE = 1024  # a golden frame larger than this is refused before it is decoded


def golden_image_row(input_name: str, frame: npt.NDArray[np.uint8]) -> dict[str, Any]:
    """The golden row of one ``H x W x 3`` uint8 RGB frame."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise IntegrityError(
            f"{GOLDEN_FILE}: a golden frame is H x W x 3 uint8, got {frame.dtype} {frame.shape}"
        )
    height, width = int(frame.shape[0]), int(frame.shape[1])
    pixels = base64.b64encode(np.ascontiguousarray(frame).tobytes()).decode("ascii")
    return {input_name: {"width": width, "height": height, "pixels": pixels}}


def golden_frames(input_name: str, rows: Sequence[Mapping[str, Any]]) -> list[npt.NDArray[np.uint8]]:
    """The frames of golden rows written by :func:`golden_image_row`; IntegrityError naming the row."""
    return [_frame(input_name, index, row) for index, row in enumerate(rows)]


def _frame(input_name: str, index: int, row: Mapping[str, Any]) -> npt.NDArray[np.uint8]:
    where = f"{GOLDEN_FILE}: rows[{index}].{input_name}"
    value = row.get(input_name)
    if not isinstance(value, Mapping):
        raise IntegrityError(f"{where}: must be an object with width, height and pixels")
    width, height, text = _side(value.get("width")), _side(value.get("height")), value.get("pixels")
    if width is None or height is None:
        raise IntegrityError(f"{where}: width and height must be whole numbers in [1, {MAX_GOLDEN_SIDE}]")
    if not isinstance(text, str):
        raise IntegrityError(f"{where}.pixels: must be base64 text")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise IntegrityError(f"{where}.pixels: is not base64") from None
    if len(raw) != width * height * 3:
        raise IntegrityError(f"{where}.pixels: {len(raw)} bytes for {width} x {height} x 3")
    frame: npt.NDArray[np.uint8] = np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
    return frame


def _side(value: Any) -> int | None:
    """A width or height within bounds, else None."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_GOLDEN_SIDE
    return value if ok else None
