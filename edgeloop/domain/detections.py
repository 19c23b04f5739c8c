"""Object detection's post-processing, for a graph that leaves it out: a score threshold, then NMS.

A detector's raw output is many candidate boxes (corners ``x1, y1, x2, y2`` in pixels of the
model's input), each with a class and a score. :func:`non_max_suppression` keeps, class by
class, the best-scoring boxes and drops each box that overlaps a kept one of its class by
more than ``iou_threshold`` (intersection over union), after dropping every box scored below
``score_threshold``; at most ``max_detections`` survive, best first. Greedy, as ONNX's
``NonMaxSuppression`` operator (a graph may do it there instead). Boxes of different classes
never suppress each other: each class's boxes are shifted apart by more than any box's extent,
so one pass over all of them does every class at once.

The detection task kind (its manifest outputs, anomaly rules, the boxes on the insight wire)
builds on this; it is not wired to the scoring yet. Reference (a plain double loop):
tests/unit/test_detections.py. Pure: numpy only.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Boxes = npt.NDArray[np.float64]  # [n, 4]: x1, y1, x2, y2 with x1 <= x2, y1 <= y2


def box_iou(box: npt.NDArray[np.float64], others: Boxes) -> npt.NDArray[np.float64]:
    """Intersection over union of ``box`` ``[4]`` with each of ``others`` ``[m, 4]`` (0: both empty)."""
    width = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0.0, None)
    height = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0.0, None)
    overlap = width * height
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - overlap
    iou: npt.NDArray[np.float64] = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    return iou


def non_max_suppression(
    boxes: Boxes,
    scores: npt.NDArray[np.float64],
    classes: npt.NDArray[np.int64],
    *,
    iou_threshold: float,
    score_threshold: float,
    max_detections: int,
) -> npt.NDArray[np.int64]:
    """Indices of the boxes kept, best score first (ties: the earlier box first)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    if not boxes.shape[0] == scores.shape[0] == classes.shape[0]:
        raise ValueError("boxes, scores and classes must have one row per candidate")
    candidates = np.flatnonzero(scores >= score_threshold)
    if candidates.size == 0 or max_detections <= 0:
        return np.empty(0, dtype=np.int64)
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    # Each class in a region of its own: no box of one class overlaps a box of another.
    extent = float(np.abs(boxes[order]).max()) * 2.0 + 1.0
    shifted = boxes[order] + (classes[order] * extent)[:, None]
    kept: list[int] = []
    alive = np.ones(order.size, dtype=np.bool_)
    for position in range(order.size):
        if not alive[position]:
            continue
        kept.append(int(order[position]))
        if len(kept) == max_detections:
            break
        rest = position + 1
        overlaps = box_iou(shifted[position], shifted[rest:]) > iou_threshold
        alive[rest:] &= ~overlaps
    return np.asarray(kept, dtype=np.int64)
