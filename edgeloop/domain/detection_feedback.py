"""What an operator's verdicts on a frame's detections say about the frame: its defects and its background.

A detection insight's ``prediction`` is its detections, flat (edgeloop.domain.detection_task:
class, score and the box's corners as fractions of the model's input); the operator's label
judges each one in order, ``"accept,reject,..."``, then may add the defects the model missed,
``";scratch@0.1,0.2,0.3,0.4"`` each (edgeloop.domain.detection_labels). As a label for the
frame (:func:`frame_truth`): an accepted detection is one of the frame's defects, its class at
its box; a rejected one is known background there (a hard negative: the model was sure and
wrong); a missed box is one of its defects too (the operator drew it: the form's "Add a missed
defect", or the API's label), so a detector that keeps missing it loses recall on it.

The figures (:func:`detection_scores`), as a site would count them after thresholding and
NMS: a detection is right when it has a defect's class and that defect's centre lies inside
its box, each defect found at most once; precision = right / detections, recall = right /
defects, F1 their harmonic mean. Background boxes are not defects: a detection on one is wrong.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edgeloop.domain.detection_labels import DetectionLabelError, parse_detection_label
from edgeloop.domain.detection_task import FIELDS, Detection, wire_detections_problem

BACKGROUND = "background"  # the class of a known-background box in a frame's truth

Box = tuple[float, float, float, float]  # x1, y1, x2, y2
LabelledBox = tuple[str, Box]  # a class (or BACKGROUND) and its box


class VerdictsMismatch(ValueError):
    """The verdicts do not judge the insight's detections one for one (or these are not detections,
    or the label does not follow the grammar)."""


@dataclass(frozen=True, slots=True)
class FrameTruth:
    """A judged frame: its defects (class, box) and its known-background boxes; boxes in 0..1."""

    defects: tuple[LabelledBox, ...]
    background: tuple[Box, ...]

    def in_pixels(self, width: int, height: int) -> tuple[LabelledBox, ...]:
        """The recipe's label: every box in pixels of a ``width x height`` input, background ones last."""
        boxes = [*self.defects, *((BACKGROUND, box) for box in self.background)]
        return tuple((name, _scaled(box, width, height)) for name, box in boxes)


def frame_truth(prediction: Any, label: str) -> FrameTruth:
    """The frame's truth from its insight's detections and the operator's label on them."""
    problem = wire_detections_problem(prediction)
    if problem is not None:
        raise VerdictsMismatch(f"the insight's {problem[0]} {problem[1]}")
    try:
        parsed = parse_detection_label(label)
    except DetectionLabelError as exc:
        raise VerdictsMismatch(f"the label {exc}") from exc
    found = len(prediction) // FIELDS
    if len(parsed.verdicts) != found:
        raise VerdictsMismatch(
            f"the label has {len(parsed.verdicts)} verdicts for the insight's {found} detections:"
            " one per detection, in order"
        )
    defects: list[LabelledBox] = []
    background: list[Box] = []
    for index, accepted in enumerate(parsed.verdicts):
        start = index * FIELDS
        corners = prediction[start + 2 : start + FIELDS]
        box: Box = (float(corners[0]), float(corners[1]), float(corners[2]), float(corners[3]))
        if accepted:
            defects.append((str(prediction[start]), box))
        else:
            background.append(box)
    defects.extend((missed.class_name, missed.box) for missed in parsed.missed)
    return FrameTruth(tuple(defects), tuple(background))


def label_mismatch(prediction: Any, label: str) -> str | None:
    """Why ``label`` does not read as a frame's truth against its insight's ``prediction``; None
    when it does (a site checks this before it accepts a label; a run, before it trains on one)."""
    try:
        frame_truth(prediction, label)
    except VerdictsMismatch as exc:
        return str(exc)
    return None


def defects_of(truth: Sequence[LabelledBox]) -> list[LabelledBox]:
    """A label's defects: its boxes but the known-background ones."""
    return [item for item in truth if item[0] != BACKGROUND]


def right_detections(
    detections: Sequence[Detection], truth: Sequence[LabelledBox], width: int, height: int
) -> int:
    """How many ``detections`` (boxes in 0..1, best first) find one of ``truth``'s defects (pixels)."""
    unmatched = defects_of(truth)
    right = 0
    for detection in detections:
        x1, y1, x2, y2 = _scaled(detection.box, width, height)
        for defect in unmatched:
            name, (dx1, dy1, dx2, dy2) = defect
            cx, cy = (dx1 + dx2) / 2, (dy1 + dy2) / 2
            if name == detection.class_name and x1 <= cx <= x2 and y1 <= cy <= y2:
                unmatched.remove(defect)
                right += 1
                break
    return right


def detection_scores(
    found: Sequence[Sequence[Detection]], truths: Sequence[Sequence[LabelledBox]], width: int, height: int
) -> dict[str, float]:
    """``precision``, ``recall`` and ``f1`` of each image's detections against its truth (pixels)."""
    right = sum(
        right_detections(detections, truth, width, height)
        for detections, truth in zip(found, truths, strict=True)
    )
    predicted = sum(len(detections) for detections in found)
    actual = sum(len(defects_of(truth)) for truth in truths)
    precision = right / predicted if predicted else 1.0
    recall = right / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _scaled(box: Sequence[float], width: int, height: int) -> Box:
    return (box[0] * width, box[1] * height, box[2] * width, box[3] * height)
