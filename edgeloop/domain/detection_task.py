"""The detection task: a graph's candidate boxes, thresholded and suppressed, then what an image holds.

The manifest's ``task`` names three graph outputs, each one row per image: ``boxes_output``
``[n, k, 4]`` (corners ``x1, y1, x2, y2`` in pixels of the model's input), ``classes_output``
``[n, k]`` (an index into ``classes``) and ``scores_output`` ``[n, k]``. After the graph,
:meth:`DetectionTask.detect` keeps per image the candidates scored at or above
``score_threshold``, suppressed by ``iou_threshold`` (edgeloop.domain.detections), at most
``max_detections``, best first; their boxes become fractions of the input's width and height
(0..1), so a picture of any size draws them.

An insight carries what was found, never the raw tensors: its ``prediction`` is the detections,
flat, :data:`FIELDS` values each (``[class, score, x1, y1, x2, y2, class, ...]``: a list of plain
values, which the compliance policy's ``prediction`` rule vets as it is; nested objects it would
refuse), and the API answers them as objects (:func:`detection_objects`); its outputs are derived counts, one
``count_<class>`` per class and ``uncertain`` (detections scored below ``min_confidence``); an
image whose candidates were not all finite counts nothing (null) and is ``invalid_output``.
Anomaly kinds: ``alert_class`` (a detection of one of ``alert_classes``) and ``low_confidence``
(an uncertain detection). The operator's label judges each detection of the insight, in its
order, then may add the defects the model missed: ``"accept,reject;scratch@0.1,0.2,0.3,0.4"``
(the grammar and its parser: edgeloop.domain.detection_labels). Pure: numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from edgeloop.domain.detection_labels import (
    SYNTAX,
    DetectionLabel,
    DetectionLabelError,
    parse_detection_label,
)
from edgeloop.domain.detections import non_max_suppression

# The kinds detection shares with the multiclass task (edgeloop.domain.tasks re-exports them).
ALERT_CLASS = "alert_class"
LOW_CONFIDENCE = "low_confidence"
UNCERTAIN = "uncertain"
COUNT_PREFIX = "count_"
FIELDS = 6  # a detection on the wire: class, score and the four corners

Column = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class Detection:
    """One kept box: its class name, its score, its corners as fractions of the model's input."""

    class_name: str
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in [0, 1]

    def to_wire(self) -> list[str | float]:
        return [self.class_name, self.score, *self.box]


@dataclass(frozen=True, slots=True)
class DetectedImages:
    """A batch's detections, per image in order; ``valid[i]``: image ``i``'s candidates were all finite."""

    detections: tuple[tuple[Detection, ...], ...]
    valid: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class DetectionTask:
    """Boxes, classes and scores per image; NMS after the graph; the outcome is a verdict per detection."""

    classes: tuple[str, ...]
    boxes_output: str
    classes_output: str
    scores_output: str
    score_threshold: float = 0.5
    iou_threshold: float = 0.45
    max_detections: int = 20
    alert_classes: tuple[str, ...] = ()
    min_confidence: float | None = None
    kind: Literal["detection"] = "detection"

    @property
    def prediction_outputs(self) -> tuple[str, ...]:
        return (self.boxes_output, self.classes_output, self.scores_output)

    @property
    def anomaly_kinds(self) -> tuple[str, ...]:
        return (ALERT_CLASS, LOW_CONFIDENCE)

    @property
    def summary_names(self) -> tuple[str, ...]:
        """The insight's outputs: one count per class, then the uncertain detections."""
        return (*(COUNT_PREFIX + name for name in self.classes), UNCERTAIN)

    def detect(self, outputs: Mapping[str, Column], width: int, height: int) -> DetectedImages:
        """Each image's detections from the graph's three outputs (rows: images; input ``width x height``)."""
        scores = np.asarray(outputs[self.scores_output], dtype=np.float64)
        count = scores.shape[0]
        scores = scores.reshape(count, -1)
        boxes = np.asarray(outputs[self.boxes_output], dtype=np.float64).reshape(count, -1, 4)
        classes = np.asarray(outputs[self.classes_output], dtype=np.float64).reshape(count, -1)
        if not boxes.shape[1] == classes.shape[1] == scores.shape[1]:
            raise ValueError(f"{self.prediction_outputs}: the three outputs must have one row per candidate")
        scale = np.array([width, height, width, height], dtype=np.float64)
        found: list[tuple[Detection, ...]] = []
        valid: list[bool] = []
        for image in range(count):
            finite = bool(np.isfinite(boxes[image]).all() and np.isfinite(scores[image]).all())
            indices = classes[image]
            known = np.isfinite(indices) & (indices >= 0) & (indices < len(self.classes))
            valid.append(finite and bool(known.all()))
            if not valid[-1]:
                found.append(())
                continue
            kept = non_max_suppression(
                boxes[image],
                scores[image],
                indices.astype(np.int64),
                iou_threshold=self.iou_threshold,
                score_threshold=self.score_threshold,
                max_detections=self.max_detections,
            )
            corners = np.clip(boxes[image][kept] / scale, 0.0, 1.0).round(4).tolist()
            found.append(
                tuple(
                    Detection(self.classes[int(indices[k])], round(float(scores[image][k]), 4), tuple(box))
                    for k, box in zip(kept.tolist(), corners, strict=True)
                )
            )
        return DetectedImages(tuple(found), tuple(valid))

    def summaries(self, detected: DetectedImages) -> dict[str, npt.NDArray[np.float64]]:
        """The insight's outputs per image (:attr:`summary_names`); NaN for an invalid image."""
        columns = {name: np.zeros(len(detected.valid), dtype=np.float64) for name in self.summary_names}
        bound = self.min_confidence
        for image, (found, valid) in enumerate(zip(detected.detections, detected.valid, strict=True)):
            if not valid:
                for column in columns.values():
                    column[image] = np.nan
                continue
            for detection in found:
                columns[COUNT_PREFIX + detection.class_name][image] += 1.0
                if bound is not None and detection.score < bound:
                    columns[UNCERTAIN][image] += 1.0
        return columns

    def anomaly_masks(self, outputs: Mapping[str, Column]) -> tuple[Column, Column]:
        """On the summaries (:meth:`summaries`), not the raw tensors."""
        uncertain = np.asarray(outputs[UNCERTAIN], dtype=np.float64)
        invalid: Column = ~np.isfinite(uncertain)
        alert = np.zeros(uncertain.shape, dtype=np.bool_)
        for name in self.alert_classes:
            alert |= np.asarray(outputs[COUNT_PREFIX + name], dtype=np.float64) > 0
        return np.vstack([alert, uncertain > 0]), invalid

    def label_problem(self, label: object) -> str | None:
        if type(label) is not str:
            return f"must be a string: {SYNTAX}"
        try:
            self.parse_label(label)
        except DetectionLabelError as exc:
            return str(exc)
        return None

    def parse_label(self, label: str) -> DetectionLabel:
        """The label read against this model's classes and bound; raises DetectionLabelError."""
        parsed = parse_detection_label(label, self.classes)
        if len(parsed.verdicts) > self.max_detections:
            raise DetectionLabelError(
                f"judges {len(parsed.verdicts)} detections; the model finds at most {self.max_detections}"
            )
        return parsed

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "classes": list(self.classes),
            "boxes_output": self.boxes_output,
            "classes_output": self.classes_output,
            "scores_output": self.scores_output,
            "score_threshold": self.score_threshold,
            "iou_threshold": self.iou_threshold,
            "max_detections": self.max_detections,
            "alert_classes": list(self.alert_classes),
            "min_confidence": self.min_confidence,
        }


def detections_wire(detected: DetectedImages) -> list[list[str | float] | None]:
    """Each image's ``prediction`` on the wire: its detections, flat, or None where it was invalid."""
    return [
        [value for detection in found for value in detection.to_wire()] if valid else None
        for found, valid in zip(detected.detections, detected.valid, strict=True)
    ]


def detection_columns(task: DetectionTask, detected: DetectedImages) -> dict[str, npt.NDArray[np.float64]]:
    """Each image's detections as numbers, one per image per column (a golden sample's outputs):
    per slot ``k`` below ``max_detections``, ``detection_k_class`` (an index; -1: no detection
    there, as an invalid image's every slot), ``detection_k_score`` and its four corners (0)."""
    fields = ("class", "score", "x1", "y1", "x2", "y2")
    count = len(detected.valid)
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for slot in range(task.max_detections):
        values = np.zeros((count, len(fields)), dtype=np.float64)
        values[:, 0] = -1.0
        for image, found in enumerate(detected.detections):
            if slot < len(found):
                detection = found[slot]
                values[image] = [task.classes.index(detection.class_name), detection.score, *detection.box]
        columns |= {f"detection_{slot}_{name}": values[:, at] for at, name in enumerate(fields)}
    return columns


def detection_objects(flat: list[Any]) -> list[dict[str, Any]]:
    """Wire detections (checked: :func:`wire_detections_problem`) as ``{"class", "score", "box"}``."""
    return [
        {"class": flat[start], "score": flat[start + 1], "box": flat[start + 2 : start + FIELDS]}
        for start in range(0, len(flat), FIELDS)
    ]


def wire_detections_problem(value: Any) -> tuple[str, str] | None:
    """What is wrong with a wire record's detections, as ``(field, message)``; None when they are sound."""
    if type(value) is not list or len(value) % FIELDS:
        return "prediction", f"must be detections, {FIELDS} values each, or null (task detection)"
    for index, item in enumerate(value):
        if not (type(item) is str and item if index % FIELDS == 0 else _finite(item)):
            expected = "a class name" if index % FIELDS == 0 else "a finite number"
            return f"prediction[{index}]", f"must be {expected} (class, score, x1, y1, x2, y2 per detection)"
    return None


def _finite(value: Any) -> bool:
    return type(value) in (int, float) and bool(np.isfinite(value))
