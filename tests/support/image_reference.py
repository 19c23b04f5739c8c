"""The plain reference of edgeloop.domain.image_batches: one image at a time, one pixel at a time.

Written from the rules in that module's docstring, with loops and no shared index tables,
so the vectorised batch code can be compared with it (tests/unit/test_image_batches.py).
Slow on purpose: tests give it small frames.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.images import ImageSpec


def reference_tensor(frames: list[npt.NDArray[np.uint8]], spec: ImageSpec) -> npt.NDArray[Any]:
    return np.stack([reference_image(frame, spec) for frame in frames])


def reference_image(frame: npt.NDArray[np.uint8], spec: ImageSpec) -> npt.NDArray[Any]:
    pixels = [[[float(v) for v in pixel] for pixel in row] for row in _rgb(frame).tolist()]
    if spec.resize == "center_crop":
        pixels = _crop(pixels, spec.width / spec.height)
    pixels = _box(pixels, spec.height, spec.width)
    out = np.zeros((spec.height, spec.width, spec.channels), dtype=np.float64)
    for y in range(spec.height):
        for x in range(spec.width):
            rgb = _bilinear(pixels, y, x, spec.height, spec.width)
            values = [0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]] if spec.channels == 1 else rgb
            for c, value in enumerate(values):
                out[y, x, c] = _normalised(value, c, spec)
    if spec.dtype == "uint8":
        result: npt.NDArray[Any] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    else:
        result = out.astype(np.float32)
    return result.transpose(2, 0, 1) if spec.layout == "NCHW" else result


def _rgb(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if frame.ndim == 2:
        return np.stack([frame, frame, frame], axis=2)
    return frame


def _crop(pixels: list[list[list[float]]], aspect: float) -> list[list[list[float]]]:
    h, w = len(pixels), len(pixels[0])
    if w / h > aspect:
        keep = max(1, round(h * aspect))
        start = (w - keep) // 2
        return [row[start : start + keep] for row in pixels]
    keep = max(1, round(w / aspect))
    start = (h - keep) // 2
    return pixels[start : start + keep]


def _box(pixels: list[list[list[float]]], height: int, width: int) -> list[list[list[float]]]:
    h, w = len(pixels), len(pixels[0])
    fy = h // height if h >= 2 * height else 1
    fx = w // width if w >= 2 * width else 1
    if fy == 1 and fx == 1:
        return pixels
    reduced = []
    for by in range(h // fy):
        row = []
        for bx in range(w // fx):
            block = [pixels[by * fy + dy][bx * fx + dx] for dy in range(fy) for dx in range(fx)]
            row.append([sum(p[c] for p in block) / len(block) for c in range(3)])
        reduced.append(row)
    return reduced


def _bilinear(pixels: list[list[list[float]]], y: int, x: int, height: int, width: int) -> list[float]:
    h, w = len(pixels), len(pixels[0])
    sy = min(max((y + 0.5) * h / height - 0.5, 0.0), h - 1)
    sx = min(max((x + 0.5) * w / width - 0.5, 0.0), w - 1)
    y0, x0 = math.floor(sy), math.floor(sx)
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    wy, wx = sy - y0, sx - x0
    return [
        (1 - wy) * ((1 - wx) * pixels[y0][x0][c] + wx * pixels[y0][x1][c])
        + wy * ((1 - wx) * pixels[y1][x0][c] + wx * pixels[y1][x1][c])
        for c in range(3)
    ]


def _normalised(value: float, channel: int, spec: ImageSpec) -> float:
    if spec.dtype == "uint8":
        return value
    norm = spec.normalisation
    mean = norm.mean[channel] if len(norm.mean) > 1 else norm.mean[0]
    std = norm.std[channel] if len(norm.std) > 1 else norm.std[0]
    return (value * norm.scale - mean) / std
