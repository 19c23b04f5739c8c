"""Generated images of brushed metal surfaces, with and without defects: the vision demo's data.

Seeded and documented, so the demo trains with no download: each image is a
``SIZE x SIZE`` RGB surface (a grey level and a faint tint, a lighting gradient,
horizontal brushing streaks, sensor noise, perhaps a speck of dust) and, unless it
is ``ok``, one defect:
- ``scratch``: a thin straight line, lighter or darker than the surface, at any angle;
- ``spot``: a round dark stain with a soft edge (corrosion, a drop of oil);
- ``crack``: a dark, jagged, branching path (a random walk that keeps its heading).
The same seed gives the same images, byte for byte. Pure: numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

CLASSES = ("ok", "scratch", "spot", "crack")
DEFECT_CLASSES = CLASSES[1:]
SIZE = 64

Surface = npt.NDArray[np.float32]


def generate(counts: Sequence[int], seed: int, size: int = SIZE) -> tuple[npt.NDArray[np.uint8], list[str]]:
    """``counts[i]`` images of class ``CLASSES[i]``, shuffled: ``([n, size, size, 3] uint8, labels)``."""
    rng = np.random.default_rng(seed)
    labels = [name for name, count in zip(CLASSES, counts, strict=True) for _ in range(count)]
    order = rng.permutation(len(labels))
    labels = [labels[index] for index in order.tolist()]
    images = np.empty((len(labels), size, size, 3), dtype=np.uint8)
    for index, label in enumerate(labels):
        images[index] = surface_image(label, rng, size)
    return images, labels


def surface_image(label: str, rng: np.random.Generator, size: int = SIZE) -> npt.NDArray[np.uint8]:
    """One image of class ``label``."""
    grey = brushed_surface(rng, size)
    if rng.random() < 0.5:
        _speck(grey, rng)  # dust: every class may have some, so a speck alone is no defect
    if label == "scratch":
        _scratch(grey, rng)
    elif label == "spot":
        _spot(grey, rng)
    elif label == "crack":
        _crack(grey, rng)
    elif label != "ok":
        raise ValueError(f"unknown class {label!r}; classes: {', '.join(CLASSES)}")
    tint = 1.0 + rng.uniform(-0.04, 0.04, size=3).astype(np.float32)
    rgb = grey[:, :, None] * tint + rng.normal(0.0, 2.0, size=(size, size, 3)).astype(np.float32)
    image: npt.NDArray[np.uint8] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return image


def brushed_surface(rng: np.random.Generator, size: int) -> Surface:
    level = rng.uniform(110.0, 170.0)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0.0, 2 * np.pi)
    lighting = rng.uniform(5.0, 20.0) * (np.cos(angle) * xs + np.sin(angle) * ys - 0.5)
    # Brushing: streaks along x, each row's brightness drifting smoothly.
    streaks = rng.normal(0.0, 4.0, size=(size, 1)) + rng.normal(0.0, 2.0, size=(size, size))
    grey: Surface = (level + lighting + streaks).astype(np.float32)
    return grey


def _speck(grey: Surface, rng: np.random.Generator) -> None:
    row, col = rng.integers(0, grey.shape[0], size=2)
    grey[row, col] -= rng.uniform(8.0, 20.0)


def _scratch(grey: Surface, rng: np.random.Generator) -> None:
    size = grey.shape[0]
    length = rng.uniform(0.15, 0.5) * size
    angle = rng.uniform(0.0, np.pi)
    cy, cx = rng.uniform(0.3, 0.7, size=2) * size
    steps = np.linspace(-length / 2, length / 2, int(length * 2))
    ys = np.clip(np.rint(cy + steps * np.sin(angle)), 0, size - 1).astype(np.intp)
    xs = np.clip(np.rint(cx + steps * np.cos(angle)), 0, size - 1).astype(np.intp)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    grey[ys, xs] += sign * rng.uniform(10.0, 30.0)


def _spot(grey: Surface, rng: np.random.Generator) -> None:
    size = grey.shape[0]
    radius = rng.uniform(1.5, 5.0)
    cy, cx = rng.uniform(0.2, 0.8, size=2) * size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    distance = np.sqrt((ys - cy) ** 2 + (xs - cx) ** 2)
    stain = np.clip((radius + 1.0 - distance) / 2.0, 0.0, 1.0)  # a soft one-pixel edge
    grey -= stain * rng.uniform(12.0, 40.0)


def _crack(grey: Surface, rng: np.random.Generator) -> None:
    size = grey.shape[0]
    depth = rng.uniform(12.0, 35.0)
    for _ in range(int(rng.integers(1, 3))):  # a crack and perhaps a branch
        y, x = rng.uniform(0.25, 0.75, size=2) * size
        heading = rng.uniform(0.0, 2 * np.pi)
        for _ in range(int(rng.uniform(0.3, 0.6) * size)):
            heading += rng.normal(0.0, 0.5)
            y, x = y + np.sin(heading), x + np.cos(heading)
            row, col = round(y), round(x)
            if not (0 <= row < size and 0 <= col < size):
                break
            grey[row, col] -= depth
