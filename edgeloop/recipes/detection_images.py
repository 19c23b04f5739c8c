"""Generated surfaces with defects at known places: the detection demo's data, no download.

Each image is a ``SIZE x SIZE`` RGB brushed-metal surface (edgeloop.recipes.surface_images'
shading, brushing and noise) with zero to :data:`MAX_DEFECTS` defects, each a ``spot`` (a
round dark stain) or a ``scratch`` (a short straight line, lighter or darker), centred at
least :data:`MIN_GAP` pixels from any other. Its label is the list of its defects, each a
class and its box ``(x1, y1, x2, y2)`` in pixels. The same seed gives the same images.
Pure: numpy only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edgeloop.recipes import surface_images

CLASSES = ("spot", "scratch")
SIZE = 96
MAX_DEFECTS = 3
MIN_GAP = 24.0  # pixels between defect centres: two defects never share a window
MARGIN = 12.0  # a centre stays this far inside the edges

Box = tuple[float, float, float, float]
Defect = tuple[str, Box]


def generate(count: int, seed: int) -> tuple[npt.NDArray[np.uint8], list[tuple[Defect, ...]]]:
    """``count`` images and their defects: ``([count, SIZE, SIZE, 3] uint8, labels)``."""
    rng = np.random.default_rng(seed)
    images = np.empty((count, SIZE, SIZE, 3), dtype=np.uint8)
    labels: list[tuple[Defect, ...]] = []
    for index in range(count):
        images[index], defects = surface_with_defects(rng)
        labels.append(defects)
    return images, labels


def surface_with_defects(rng: np.random.Generator) -> tuple[npt.NDArray[np.uint8], tuple[Defect, ...]]:
    grey = surface_images.brushed_surface(rng, SIZE)
    defects: list[Defect] = []
    for centre in _centres(rng, int(rng.integers(0, MAX_DEFECTS + 1))):
        if rng.random() < 0.5:
            defects.append(("spot", _spot(grey, rng, centre)))
        else:
            defects.append(("scratch", _scratch(grey, rng, centre)))
    tint = 1.0 + rng.uniform(-0.04, 0.04, size=3).astype(np.float32)
    rgb = grey[:, :, None] * tint + rng.normal(0.0, 2.0, size=(SIZE, SIZE, 3)).astype(np.float32)
    image: npt.NDArray[np.uint8] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return image, tuple(defects)


def _centres(rng: np.random.Generator, wanted: int) -> list[tuple[float, float]]:
    centres: list[tuple[float, float]] = []
    for _ in range(50 * wanted):  # rejection sampling; three centres always fit
        if len(centres) == wanted:
            break
        x, y = rng.uniform(MARGIN, SIZE - MARGIN, size=2).tolist()
        if all(np.hypot(x - cx, y - cy) >= MIN_GAP for cx, cy in centres):
            centres.append((x, y))
    return centres


def _spot(grey: npt.NDArray[np.float32], rng: np.random.Generator, centre: tuple[float, float]) -> Box:
    cx, cy = centre
    radius = rng.uniform(2.0, 4.5)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    distance = np.sqrt((ys - cy) ** 2 + (xs - cx) ** 2)
    grey -= np.clip((radius + 1.0 - distance) / 2.0, 0.0, 1.0) * rng.uniform(18.0, 40.0)
    reach = radius + 1.0
    return (cx - reach, cy - reach, cx + reach, cy + reach)


def _scratch(grey: npt.NDArray[np.float32], rng: np.random.Generator, centre: tuple[float, float]) -> Box:
    cx, cy = centre
    length, angle = rng.uniform(8.0, 14.0), rng.uniform(0.0, np.pi)
    steps = np.linspace(-length / 2, length / 2, int(length * 2))
    xs = np.clip(np.rint(cx + steps * np.cos(angle)), 0, SIZE - 1).astype(np.intp)
    ys = np.clip(np.rint(cy + steps * np.sin(angle)), 0, SIZE - 1).astype(np.intp)
    grey[ys, xs] += (1.0 if rng.random() < 0.5 else -1.0) * rng.uniform(15.0, 35.0)
    return (float(xs.min()) - 0.5, float(ys.min()) - 0.5, float(xs.max()) + 1.5, float(ys.max()) + 1.5)
