"""Frames to a model's input tensor, once per batch and vectorised: resize, channels, normalise, layout.

Frames of the same size (a camera's, usually all of them) are resized together: the
source rows and columns each output pixel reads, and their weights, are computed once
per size, and the whole group is gathered and blended by numpy at once. Resizing is
bilinear on pixel centres (half-pixel, edges clamped); a frame at least twice the
model's size along an axis is first box-averaged by the whole factor, so a camera's
1080p frame is not sampled at a few pixels per block (aliasing). ``center_crop`` cuts
the largest centred region of the model's aspect first. Then, on the whole batch: RGB
to grey (ITU-R BT.601 weights) for a one-channel model, ``(x * scale - mean) / std`` for
a float model (uint8 models take the resized pixels as they are), and the layout.

Reference (plain loops per image and pixel): tests/support/image_reference.py, compared
by tests/unit/test_image_batches.py. Pure: numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.images import ImageProblem, ImageSpec, InvalidImages

GREY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)
Frame = npt.NDArray[np.uint8]


def frame_problems(frames: Sequence[npt.NDArray[Any]]) -> list[ImageProblem]:
    """What makes a frame unusable: not ``H x W x 3`` (or ``H x W``) uint8, or empty."""
    problems = []
    for index, frame in enumerate(frames):
        shape: tuple[int, ...] = tuple(getattr(frame, "shape", ()))
        if getattr(frame, "dtype", None) != np.uint8 or len(shape) not in (2, 3):
            message = "a frame must be an H x W x 3 uint8 RGB array"
        elif len(shape) == 3 and shape[2] != 3:
            message = f"a frame must have 3 channels (RGB), this one has {shape[2]}"
        elif shape[0] == 0 or shape[1] == 0:
            message = "the frame is empty"
        else:
            continue
        problems.append(ImageProblem(index, None, "bad_frame", message))
    return problems


def prepare_batch(frames: Sequence[npt.NDArray[Any]], spec: ImageSpec) -> npt.NDArray[Any]:
    """The model's input tensor for ``frames`` (``[N, *spec.tensor_shape]`` of ``spec.dtype``).

    Raises :class:`InvalidImages` naming each frame that is not an RGB (or grey) uint8 array.
    """
    problems = frame_problems(frames)
    if problems:
        raise InvalidImages(problems)
    resized = np.empty((len(frames), spec.height, spec.width, 3), dtype=np.float32)
    for indices in _by_shape(frames).values():
        group = np.stack([_rgb(frames[index]) for index in indices])
        resized[indices] = resize_group(group, spec)
    pixels = _channels(resized, spec.channels)
    if spec.dtype == "uint8":
        tensor: npt.NDArray[Any] = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    else:
        norm = spec.normalisation
        mean = np.asarray(norm.mean, dtype=np.float32)
        std = np.asarray(norm.std, dtype=np.float32)
        tensor = (pixels * np.float32(norm.scale) - mean) / std
    if spec.layout == "NCHW":
        tensor = tensor.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(tensor)


def resize_group(group: npt.NDArray[Any], spec: ImageSpec) -> npt.NDArray[np.float32]:
    """Frames of one size ``[n, h, w, 3]`` resized to the model's ``[n, height, width, 3]`` (float32)."""
    if spec.resize == "center_crop":
        group = _center_crop(group, spec.width / spec.height)
    if group.shape[1:3] == (spec.height, spec.width):  # bilinear at the same size is the identity
        same: npt.NDArray[np.float32] = group.astype(np.float32)
        return same
    group = _box_reduce(group, spec.height, spec.width)
    rows, row_weights = _axis_taps(group.shape[1], spec.height)
    cols, col_weights = _axis_taps(group.shape[2], spec.width)
    values = group.astype(np.float32, copy=False)
    # Blend along the rows, then the columns: two gathers of the whole group each.
    top, bottom = values[:, rows[0]], values[:, rows[1]]
    blended = top + (bottom - top) * row_weights[None, :, None, None]
    left, right = blended[:, :, cols[0]], blended[:, :, cols[1]]
    resized: npt.NDArray[np.float32] = left + (right - left) * col_weights[None, None, :, None]
    return resized


def _axis_taps(size: int, out: int) -> tuple[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]], Any]:
    """For each output index: the two source indices it reads and the weight of the second."""
    centres = (np.arange(out, dtype=np.float64) + 0.5) * (size / out) - 0.5
    centres = np.clip(centres, 0.0, size - 1)
    first = np.floor(centres).astype(np.intp)
    second = np.minimum(first + 1, size - 1)
    return (first, second), (centres - first).astype(np.float32)


def _box_reduce(group: npt.NDArray[Any], height: int, width: int) -> npt.NDArray[Any]:
    """Average blocks of the whole factor by which the frames exceed twice the model's size."""
    factor_y = group.shape[1] // height if group.shape[1] >= 2 * height else 1
    factor_x = group.shape[2] // width if group.shape[2] >= 2 * width else 1
    if factor_y == 1 and factor_x == 1:
        return group
    h, w = group.shape[1] - group.shape[1] % factor_y, group.shape[2] - group.shape[2] % factor_x
    # Exact integer sums of each block (the last partial block is left out), rows then columns:
    # reduceat runs along whole rows, several times faster than a reshape's mean over small axes.
    sums = np.add.reduceat(group[:, :h, :w], np.arange(0, h, factor_y), axis=1, dtype=np.uint32)
    sums = np.add.reduceat(sums, np.arange(0, w, factor_x), axis=2)
    reduced: npt.NDArray[np.float32] = sums.astype(np.float32) / np.float32(factor_y * factor_x)
    return reduced


def _center_crop(group: npt.NDArray[Any], aspect: float) -> npt.NDArray[Any]:
    """The largest centred region of aspect ``width / height``."""
    h, w = group.shape[1], group.shape[2]
    if w / h > aspect:
        keep = max(1, round(h * aspect))
        start = (w - keep) // 2
        return group[:, :, start : start + keep]
    keep = max(1, round(w / aspect))
    start = (h - keep) // 2
    return group[:, start : start + keep]


def _by_shape(frames: Sequence[npt.NDArray[Any]]) -> dict[tuple[int, int], list[int]]:
    groups: dict[tuple[int, int], list[int]] = {}
    for index, frame in enumerate(frames):
        groups.setdefault((frame.shape[0], frame.shape[1]), []).append(index)
    return groups


def _rgb(frame: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return np.repeat(frame[:, :, None], 3, axis=2) if frame.ndim == 2 else frame


def _channels(pixels: npt.NDArray[np.float32], channels: int) -> npt.NDArray[np.float32]:
    if channels == 3:
        return pixels
    grey: npt.NDArray[np.float32] = (pixels @ GREY_WEIGHTS)[..., None]
    return grey
