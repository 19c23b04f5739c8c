"""The ``FrameEncoder`` port on Pillow: a camera's decoded RGB frame to JPEG bytes for keeping.

JPEG because a camera frame is a photograph: a tenth of a PNG's bytes for the same frame,
so the store's byte bound holds ten times the frames. No metadata is written.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image


class PillowJpegEncoder:
    def __init__(self, quality: int = 85) -> None:
        if not 1 <= quality <= 95:  # above 95 Pillow's own docs advise against: bigger, no better
            raise ValueError(f"JPEG quality {quality}: 1 to 95")
        self.quality = quality

    def encode_jpeg(self, rgb: npt.NDArray[np.uint8]) -> bytes:
        out = io.BytesIO()
        Image.fromarray(rgb, mode="RGB").save(out, format="JPEG", quality=self.quality)
        return out.getvalue()
