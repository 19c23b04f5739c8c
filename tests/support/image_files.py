"""Image files for tests, made with Pillow: JPEG and PNG, truncated ones, a decompression bomb."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import numpy.typing as npt
from PIL import Image


def encoded(frame: npt.NDArray[np.uint8], image_format: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 60_000) -> bytes:
    """A PNG of ``side x side`` grey pixels, all zero: some kilobytes that would inflate to gigabytes."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit grey, no interlace
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    rows = 64  # enough compressed data to look real; the header's size is what must be refused
    data = b"".join(compressor.compress(row) for _ in range(rows)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def gif(frame: npt.NDArray[np.uint8]) -> bytes:
    return encoded(frame, "GIF")


def uniform(value: int, size: int = 8) -> npt.NDArray[np.uint8]:
    return np.full((size, size, 3), value, dtype=np.uint8)
