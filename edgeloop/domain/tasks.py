"""What a model predicts, from its manifest's ``task``: binary, multiclass or regression.

A task names the outputs that carry the prediction, the anomaly rules on them, the
labels an operator may report as the actual outcome, and how a model of it is
judged (edgeloop.domain.metrics). Manifest format 1 had only the binary task, as the
top-level ``risk_output`` and ``threshold`` (:func:`parse_v1_task`); format 2 has a ``task``
object (:func:`parse_task`), whose structure edgeloop.domain.task_documents describes.

Anomaly kinds per task (besides ``out_of_distribution`` and ``invalid_output``, which
apply to every task: edgeloop.domain.anomaly):
- binary: ``high_risk``, the risk output at or above ``threshold``;
- multiclass: ``alert_class``, the predicted class is one of ``alert_classes``;
  ``low_confidence``, the predicted class's probability is below ``min_confidence``;
- regression: ``out_of_band``, the value outside ``band`` ([low, high], either side open);
- detection (edgeloop.domain.detection_task): ``alert_class``, a detection of one of
  ``alert_classes``; ``low_confidence``, a detection scored below ``min_confidence``.

Pure: dataclasses and numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from edgeloop.domain.detection_task import ALERT_CLASS as ALERT_CLASS
from edgeloop.domain.detection_task import LOW_CONFIDENCE as LOW_CONFIDENCE
from edgeloop.domain.detection_task import DetectionTask as DetectionTask
from edgeloop.domain.manifest_specs import ManifestError
from edgeloop.domain.records import TASK_KINDS as TASK_KINDS
from edgeloop.domain.records import Label as Label
from edgeloop.domain.records import TaskKind as TaskKind

if TYPE_CHECKING:  # the documents' module imports this one's neighbours at run time
    from edgeloop.domain.task_documents import (
        BinaryTaskDocument,
        DetectionTaskDocument,
        MulticlassTaskDocument,
        RegressionTaskDocument,
        TaskDocument,
    )

HIGH_RISK = "high_risk"
OUT_OF_BAND = "out_of_band"

# What format 1 (the failure demo's) called the two outcomes; format 2 names them in the manifest.
V1_LABEL_NAMES = ("did not fail", "failed")
DEFAULT_LABEL_NAMES = ("negative", "positive")

Column = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class BinaryTask:
    """One probability-like risk output; the actual outcome is 0 or 1."""

    risk_output: str
    threshold: float
    label_names: tuple[str, str] = DEFAULT_LABEL_NAMES  # what 0 and 1 mean, for people
    kind: Literal["binary"] = "binary"

    @property
    def prediction_outputs(self) -> tuple[str, ...]:
        return (self.risk_output,)

    @property
    def anomaly_kinds(self) -> tuple[str, ...]:
        return (HIGH_RISK,)

    def anomaly_masks(self, outputs: Mapping[str, Column]) -> tuple[Column, Column]:
        """``(flags, invalid)``: one boolean column per kind in :attr:`anomaly_kinds`, and non-finite rows."""
        risk = np.asarray(outputs[self.risk_output], dtype=np.float64)
        return (risk >= self.threshold)[None, :], ~np.isfinite(risk)

    def label_problem(self, label: object) -> str | None:
        if type(label) is int and label in (0, 1):
            return None
        return f"must be 0 ({self.label_names[0]}) or 1 ({self.label_names[1]})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "risk_output": self.risk_output,
            "threshold": self.threshold,
            "label_names": list(self.label_names),
        }


@dataclass(frozen=True, slots=True)
class MulticlassTask:
    """One probability output per class (same order as ``classes``); the outcome is a class name."""

    classes: tuple[str, ...]
    probability_outputs: tuple[str, ...]
    alert_classes: tuple[str, ...] = ()
    min_confidence: float | None = None
    kind: Literal["multiclass"] = "multiclass"

    @property
    def prediction_outputs(self) -> tuple[str, ...]:
        return self.probability_outputs

    @property
    def anomaly_kinds(self) -> tuple[str, ...]:
        return (ALERT_CLASS, LOW_CONFIDENCE)

    def probabilities(self, outputs: Mapping[str, Column]) -> npt.NDArray[np.float64]:
        """``[n_rows, n_classes]``, columns in ``classes`` order."""
        return np.column_stack(
            [np.asarray(outputs[name], dtype=np.float64) for name in self.probability_outputs]
        )

    def predicted(self, outputs: Mapping[str, Column]) -> npt.NDArray[np.int64]:
        """Each row's most probable class, as an index into ``classes``."""
        indices: npt.NDArray[np.int64] = np.argmax(self.probabilities(outputs), axis=1).astype(np.int64)
        return indices

    def predicted_classes(self, outputs: Mapping[str, Column]) -> list[str]:
        return [self.classes[index] for index in self.predicted(outputs).tolist()]

    def anomaly_masks(self, outputs: Mapping[str, Column]) -> tuple[Column, Column]:
        probabilities = self.probabilities(outputs)
        invalid: Column = np.logical_not(np.isfinite(probabilities).all(axis=1))
        predicted = np.argmax(np.nan_to_num(probabilities, nan=-1.0), axis=1)
        alert_indices = [self.classes.index(name) for name in self.alert_classes]
        alert = np.isin(predicted, alert_indices)
        if self.min_confidence is None:
            low = np.zeros_like(alert)
        else:
            low = probabilities.max(axis=1, initial=-math.inf) < self.min_confidence
        return np.vstack([alert, low]), invalid

    def label_problem(self, label: object) -> str | None:
        if type(label) is str and label in self.classes:
            return None
        return "must be one of the classes " + ", ".join(repr(name) for name in self.classes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "classes": list(self.classes),
            "probability_outputs": list(self.probability_outputs),
            "alert_classes": list(self.alert_classes),
            "min_confidence": self.min_confidence,
        }


@dataclass(frozen=True, slots=True)
class RegressionTask:
    """One value output, optionally an interval (lower/upper outputs); the outcome is a number."""

    value_output: str
    lower_output: str | None = None
    upper_output: str | None = None
    band_low: float | None = None  # a value below is out of band
    band_high: float | None = None  # a value above is out of band
    unit: str = ""
    kind: Literal["regression"] = "regression"

    @property
    def prediction_outputs(self) -> tuple[str, ...]:
        bounds = tuple(name for name in (self.lower_output, self.upper_output) if name is not None)
        return (self.value_output, *bounds)

    @property
    def anomaly_kinds(self) -> tuple[str, ...]:
        return (OUT_OF_BAND,)

    def anomaly_masks(self, outputs: Mapping[str, Column]) -> tuple[Column, Column]:
        value = np.asarray(outputs[self.value_output], dtype=np.float64)
        outside = np.zeros(value.shape, dtype=np.bool_)
        if self.band_low is not None:
            outside |= value < self.band_low
        if self.band_high is not None:
            outside |= value > self.band_high
        return outside[None, :], ~np.isfinite(value)

    def label_problem(self, label: object) -> str | None:
        if isinstance(label, int | float) and not isinstance(label, bool) and math.isfinite(label):
            return None
        return "must be a finite number" + (f" ({self.unit})" if self.unit else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value_output": self.value_output,
            "lower_output": self.lower_output,
            "upper_output": self.upper_output,
            "band": {"low": self.band_low, "high": self.band_high},
            "unit": self.unit,
        }


Task = BinaryTask | MulticlassTask | RegressionTask | DetectionTask


def parse_task(document: TaskDocument, output_names: Sequence[str]) -> Task:
    """Format 2's ``task`` object (its structure already checked): the rules across fields."""
    if document.kind == "binary":
        return _binary(document, output_names)
    if document.kind == "multiclass":
        return _multiclass(document, output_names)
    if document.kind == "detection":
        return _detection(document, output_names)
    return _regression(document, output_names)


def parse_v1_task(risk_output: str, threshold: float, output_names: Sequence[str]) -> BinaryTask:
    """Format 1's top-level binary rule, with the failure demo's outcome names."""
    return BinaryTask(_output(risk_output, "risk_output", output_names), threshold, V1_LABEL_NAMES)


def _output(name: str, path: str, output_names: Sequence[str]) -> str:
    if name not in output_names:
        raise ManifestError(path, f"{name!r} is not one of the outputs")
    return name


def _unique(names: Sequence[str], path: str) -> tuple[str, ...]:
    if len(set(names)) != len(names):
        raise ManifestError(path, "must not repeat a name")
    return tuple(names)


def _binary(task: BinaryTaskDocument, output_names: Sequence[str]) -> BinaryTask:
    risk_output = _output(task.risk_output, "task.risk_output", output_names)
    label_names = DEFAULT_LABEL_NAMES
    if task.label_names is not None:
        first, second = _unique(task.label_names, "task.label_names")
        label_names = (first, second)
    return BinaryTask(risk_output, task.threshold, label_names)


def _alert_classes(names: Sequence[str], classes: Sequence[str]) -> tuple[str, ...]:
    alert = _unique(names, "task.alert_classes")
    for index, name in enumerate(alert):
        if name not in classes:
            raise ManifestError(f"task.alert_classes[{index}]", f"{name!r} is not one of the classes")
    return alert


def _detection(task: DetectionTaskDocument, output_names: Sequence[str]) -> DetectionTask:
    classes = _unique(task.classes, "task.classes")
    boxes = _output(task.boxes_output, "task.boxes_output", output_names)
    labels = _output(task.classes_output, "task.classes_output", output_names)
    scores = _output(task.scores_output, "task.scores_output", output_names)
    if len({boxes, labels, scores}) != 3:
        raise ManifestError("task", "boxes_output, classes_output and scores_output must differ")
    if task.min_confidence is not None and task.min_confidence < task.score_threshold:
        raise ManifestError(
            "task.min_confidence",
            f"must not be below score_threshold ({task.score_threshold}): nothing kept is below it",
        )
    alert = _alert_classes(task.alert_classes, classes)
    return DetectionTask(
        classes,
        boxes,
        labels,
        scores,
        task.score_threshold,
        task.iou_threshold,
        task.max_detections,
        alert,
        task.min_confidence,
    )


def _multiclass(task: MulticlassTaskDocument, output_names: Sequence[str]) -> MulticlassTask:
    classes = _unique(task.classes, "task.classes")
    outputs = _unique(task.probability_outputs, "task.probability_outputs")
    if len(outputs) != len(classes):
        raise ManifestError("task.probability_outputs", f"must name one output per class ({len(classes)})")
    for index, name in enumerate(outputs):
        _output(name, f"task.probability_outputs[{index}]", output_names)
    alert = _alert_classes(task.alert_classes, classes)
    return MulticlassTask(classes, outputs, alert, task.min_confidence)


def _regression(task: RegressionTaskDocument, output_names: Sequence[str]) -> RegressionTask:
    value = _output(task.value_output, "task.value_output", output_names)
    lower, upper = task.lower_output, task.upper_output
    if (lower is None) != (upper is None):
        raise ManifestError(
            "task.upper_output" if lower else "task.lower_output", "an interval needs both bounds"
        )
    if lower is not None and upper is not None:
        _output(lower, "task.lower_output", output_names)
        _output(upper, "task.upper_output", output_names)
        if len({value, lower, upper}) != 3:
            raise ManifestError("task", "value_output, lower_output and upper_output must differ")
    low, high = task.band.low, task.band.high
    if low is not None and high is not None and not low < high:
        raise ManifestError("task.band.high", f"must be greater than low ({low}), got {high}")
    return RegressionTask(value, lower, upper, low, high, task.unit)
