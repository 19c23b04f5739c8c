"""Non-maximum suppression (edgeloop.domain.detections) against a plain greedy double loop, and
the cases a reader checks by hand: overlap within a class, none across classes, the thresholds."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeloop.domain.detections import non_max_suppression


def _iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union if union > 0 else 0.0


def reference(
    boxes: list[list[float]], scores: list[float], classes: list[int], iou: float, floor: float, most: int
) -> list[int]:
    """Greedy NMS the textbook way: best first, drop what a kept box of its class overlaps."""
    order = sorted((i for i in range(len(boxes)) if scores[i] >= floor), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        if len(kept) == most:
            break
        if all(classes[k] != classes[i] or _iou(boxes[k], boxes[i]) <= iou for k in kept):
            kept.append(i)
    return kept


@st.composite
def candidates(draw: st.DrawFn) -> tuple[list[list[float]], list[float], list[int]]:
    n = draw(st.integers(0, 25))
    corner = st.integers(0, 60).map(float)
    boxes = []
    for _ in range(n):
        x, y = draw(corner), draw(corner)
        boxes.append([x, y, x + draw(st.integers(0, 30)), y + draw(st.integers(0, 30))])
    scores = [draw(st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9, 0.95])) for _ in range(n)]
    classes = [draw(st.integers(0, 2)) for _ in range(n)]
    return boxes, scores, classes


def run(
    boxes: list[list[float]], scores: list[float], classes: list[int], **rule: float
) -> npt.NDArray[np.int64]:
    return non_max_suppression(
        np.array(boxes, dtype=np.float64).reshape(-1, 4),
        np.array(scores, dtype=np.float64),
        np.array(classes, dtype=np.int64),
        iou_threshold=rule.get("iou", 0.5),
        score_threshold=rule.get("floor", 0.25),
        max_detections=int(rule.get("most", 100)),
    )


@settings(max_examples=300, deadline=None)
@given(
    candidates(), st.sampled_from([0.0, 0.3, 0.5, 0.9]), st.sampled_from([0.0, 0.4, 0.8]), st.integers(0, 6)
)
def test_nms_keeps_what_the_greedy_reference_keeps(
    found: tuple[list[list[float]], list[float], list[int]], iou: float, floor: float, most: int
) -> None:
    boxes, scores, classes = found
    kept = run(boxes, scores, classes, iou=iou, floor=floor, most=most).tolist()
    assert kept == reference(boxes, scores, classes, iou, floor, most)


def test_an_overlapping_box_of_the_same_class_is_dropped_not_one_of_another_class() -> None:
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [1, 1, 11, 11], [30, 30, 40, 40]]
    kept = run(boxes, [0.9, 0.8, 0.7, 0.6], [0, 0, 1, 0])
    assert kept.tolist() == [0, 2, 3]


def test_the_score_threshold_and_the_cap_apply() -> None:
    boxes = [[0, 0, 5, 5], [10, 10, 15, 15], [20, 20, 25, 25]]
    assert run(boxes, [0.2, 0.9, 0.6], [0, 0, 0], floor=0.5).tolist() == [1, 2]
    assert run(boxes, [0.2, 0.9, 0.6], [0, 0, 0], floor=0.0, most=2).tolist() == [1, 2]
    assert run([], [], []).tolist() == []
