"""Frames for the frame store and upload tests: real PNG/JPEG files (Pillow) that carry a canary.

A canary frame has a unique pixel pattern and the canary text in a PNG text chunk (so
its bytes carry the canary literally), and is kept under a file name holding the canary:
finding the text, or the frame's bytes, anywhere in an account means the frame got out.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

from PIL import Image, PngImagePlugin

from edgeloop.domain.frames import FrameOrigin, KeptFrame, ResultSummary

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def canary() -> str:
    return f"CANARY-{uuid.uuid4().hex}"


def png_bytes(mark: str, size: int = 32) -> bytes:
    """A PNG whose pixels spell ``mark``'s digits and whose text chunk holds ``mark``."""
    image = Image.new("RGB", (size, size))
    seed = int.from_bytes(mark.encode("utf-8")[-8:], "big")
    for index in range(size * size):
        seed = (seed * 6364136223846793005 + 1442695040888963407) % 2**64
        image.putpixel((index % size, index // size), (seed >> 56, (seed >> 48) & 255, (seed >> 40) & 255))
    info = PngImagePlugin.PngInfo()
    info.add_text("canary", mark)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def jpeg_bytes(size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def canary_frame(
    mark: str,
    *,
    site: str = "plant-7",
    confidence: float = 0.55,
    disagree: bool = False,
    source: str = "upload",
) -> KeptFrame:
    """A PNG upload named ``<mark>.png`` (a camera frame from camera ``cam-1`` when ``source="camera"``)."""
    origin = FrameOrigin(
        site_id=site,
        source="camera" if source == "camera" else "upload",
        source_name="cam-1" if source == "camera" else f"{mark}.png",
        captured_at=NOON,
        insight_id=f"{uuid.uuid4().hex}-00000",
    )
    result = ResultSummary(top_class="dent", confidence=confidence, models_disagree=disagree)
    return KeptFrame(png_bytes(mark), "image/png", origin, result)
