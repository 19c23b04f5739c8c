"""What the Power BI dataset carries of a model's prediction and of the actual outcome, per task.

One model's dataset has the columns of its task (edgeloop.domain.tasks):

- binary: ``Insights.risk_score`` (the risk output); ``Feedback.label`` (Int64, 0/1);
- multiclass: ``predicted_class`` and ``predicted_probability`` (that class's probability
  output); ``Feedback.label_class`` (String, a class name);
- regression: ``predicted_value``, and ``predicted_lower`` / ``predicted_upper`` when the
  task has an interval; ``Feedback.label_value`` (Double);
- detection: ``detections`` (how many), ``top_class`` and ``top_score`` (the best one), one
  ``count_<class>`` per class (Int64); ``Feedback.accepted`` and ``rejected`` (the operator's
  verdicts on the insight's detections) and ``missed`` (the defects the operator drew that the
  model did not find: a report's precision is accepted / (accepted + rejected), its recall
  accepted / (accepted + missed)).

``anomaly`` and ``anomaly_kinds`` are every task's (edgeloop.domain.powerbi_schema). The
cells come from a wire record after the compliance policy: a missing value is null, a value
of the wrong type or not of the task (a class the model does not have) is a RecordError
naming the field. Only what the cells need of the task is kept (``to_dict`` /
:func:`task_columns_from_dict`), not its thresholds, so retraining leaves the definition as it is.
Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from edgeloop.domain.detection_labels import missed_count_of, verdicts_of
from edgeloop.domain.detection_task import (
    COUNT_PREFIX,
    FIELDS,
    DetectionTask,
    wire_detections_problem,
)
from edgeloop.domain.powerbi_schema import Column, DefinitionError, Row, truncate
from edgeloop.domain.records import RecordError
from edgeloop.domain.tasks import BinaryTask, MulticlassTask, Task

RISK_SCORE = "risk_score"
PREDICTED_CLASS = "predicted_class"
PREDICTED_PROBABILITY = "predicted_probability"
PREDICTED_VALUE = "predicted_value"
PREDICTED_LOWER = "predicted_lower"
PREDICTED_UPPER = "predicted_upper"
LABEL = "label"
LABEL_CLASS = "label_class"
LABEL_VALUE = "label_value"
DETECTIONS = "detections"
TOP_CLASS = "top_class"
TOP_SCORE = "top_score"
ACCEPTED = "accepted"
REJECTED = "rejected"
MISSED = "missed"


def _number(value: Any, field_name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RecordError(field_name, "must be a finite number")
    return float(value)


def _output(record: Mapping[str, Any], name: str) -> float | None:
    outputs = record.get("outputs")
    if not isinstance(outputs, Mapping):
        return None  # dropped by the policy; not an object: the value rows name it
    return _number(outputs.get(name), f"outputs.{name}")


@dataclass(frozen=True, slots=True)
class BinaryColumns:
    risk_output: str
    kind: Literal["binary"] = "binary"

    def insight_columns(self) -> tuple[Column, ...]:
        return (Column(RISK_SCORE, "Double", ("outputs", self.risk_output)),)

    def feedback_columns(self) -> tuple[Column, ...]:
        return (Column(LABEL, "Int64", ("label",)),)

    def insight_cells(self, record: Mapping[str, Any]) -> Row:
        if record.get("prediction") is not None:
            raise RecordError("prediction", "a binary model's insight carries no prediction")
        return {RISK_SCORE: _output(record, self.risk_output)}

    def label_cells(self, record: Mapping[str, Any]) -> Row:
        label = record.get("label")
        if label is not None and not (type(label) is int and label in (0, 1)):
            raise RecordError("label", "must be 0 or 1 (the outcome of a binary model)")
        return {LABEL: label}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "risk_output": self.risk_output}


@dataclass(frozen=True, slots=True)
class MulticlassColumns:
    classes: tuple[str, ...]
    probability_outputs: tuple[str, ...]  # one per class, in the order of classes
    kind: Literal["multiclass"] = "multiclass"

    def insight_columns(self) -> tuple[Column, ...]:
        return (
            Column(PREDICTED_CLASS, "String", ("prediction",)),
            Column(PREDICTED_PROBABILITY, "Double", ("outputs",)),
        )

    def feedback_columns(self) -> tuple[Column, ...]:
        return (Column(LABEL_CLASS, "String", ("label",)),)

    def _class(self, value: Any, field_name: str) -> str | None:
        if value is None or (type(value) is str and value in self.classes):
            return value
        shown = ", ".join(repr(name) for name in self.classes[:20])
        raise RecordError(field_name, f"must be one of the model's classes ({shown})")

    def insight_cells(self, record: Mapping[str, Any]) -> Row:
        predicted = self._class(record.get("prediction"), "prediction")
        if predicted is None:  # the model's output was not finite
            return {PREDICTED_CLASS: None, PREDICTED_PROBABILITY: None}
        output = self.probability_outputs[self.classes.index(predicted)]
        return {PREDICTED_CLASS: truncate(predicted), PREDICTED_PROBABILITY: _output(record, output)}

    def label_cells(self, record: Mapping[str, Any]) -> Row:
        label = self._class(record.get("label"), "label")
        return {LABEL_CLASS: None if label is None else truncate(label)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "classes": list(self.classes),
            "probability_outputs": list(self.probability_outputs),
        }


@dataclass(frozen=True, slots=True)
class RegressionColumns:
    lower_output: str | None = None  # the interval's outputs: both or neither
    upper_output: str | None = None
    kind: Literal["regression"] = "regression"

    def insight_columns(self) -> tuple[Column, ...]:
        value = Column(PREDICTED_VALUE, "Double", ("prediction",))
        if self.lower_output is None or self.upper_output is None:
            return (value,)
        return (
            value,
            Column(PREDICTED_LOWER, "Double", ("outputs", self.lower_output)),
            Column(PREDICTED_UPPER, "Double", ("outputs", self.upper_output)),
        )

    def feedback_columns(self) -> tuple[Column, ...]:
        return (Column(LABEL_VALUE, "Double", ("label",)),)

    def insight_cells(self, record: Mapping[str, Any]) -> Row:
        cells: Row = {PREDICTED_VALUE: _number(record.get("prediction"), "prediction")}
        if self.lower_output is not None and self.upper_output is not None:
            cells[PREDICTED_LOWER] = _output(record, self.lower_output)
            cells[PREDICTED_UPPER] = _output(record, self.upper_output)
        return cells

    def label_cells(self, record: Mapping[str, Any]) -> Row:
        return {LABEL_VALUE: _number(record.get("label"), "label")}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lower_output": self.lower_output, "upper_output": self.upper_output}


@dataclass(frozen=True, slots=True)
class DetectionColumns:
    classes: tuple[str, ...]
    kind: Literal["detection"] = "detection"

    def insight_columns(self) -> tuple[Column, ...]:
        counts = tuple(
            Column(COUNT_PREFIX + name, "Int64", ("outputs", COUNT_PREFIX + name)) for name in self.classes
        )
        return (
            Column(DETECTIONS, "Int64", ("prediction",)),
            Column(TOP_CLASS, "String", ("prediction",)),
            Column(TOP_SCORE, "Double", ("prediction",)),
            *counts,
        )

    def feedback_columns(self) -> tuple[Column, ...]:
        return tuple(Column(name, "Int64", ("label",)) for name in (ACCEPTED, REJECTED, MISSED))

    def insight_cells(self, record: Mapping[str, Any]) -> Row:
        found = record.get("prediction")
        cells: Row = {COUNT_PREFIX + name: _count(record, COUNT_PREFIX + name) for name in self.classes}
        if found is None:  # the model's output was not finite
            return {DETECTIONS: None, TOP_CLASS: None, TOP_SCORE: None, **cells}
        problem = wire_detections_problem(found)
        if problem is not None:
            raise RecordError(*problem)
        best = found[:2] if found else [None, None]  # best first, as the edge wrote them
        if best[0] is not None and best[0] not in self.classes:
            raise RecordError("prediction[0]", "must be one of the model's classes")
        return {DETECTIONS: len(found) // FIELDS, TOP_CLASS: best[0], TOP_SCORE: best[1], **cells}

    def label_cells(self, record: Mapping[str, Any]) -> Row:
        label = record.get("label")
        if label is None:
            return {ACCEPTED: None, REJECTED: None, MISSED: None}
        if type(label) is not str:
            raise RecordError("label", "must be the verdicts on the detections, then the missed boxes")
        verdicts = verdicts_of(label)
        return {
            ACCEPTED: sum(verdicts),
            REJECTED: len(verdicts) - sum(verdicts),
            MISSED: missed_count_of(label),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "classes": list(self.classes)}


def _count(record: Mapping[str, Any], name: str) -> int | None:
    value = _output(record, name)
    return None if value is None else int(value)


TaskColumns = BinaryColumns | MulticlassColumns | RegressionColumns | DetectionColumns


def task_columns(task: Task) -> TaskColumns:
    """The columns of a manifest's task."""
    if isinstance(task, BinaryTask):
        return BinaryColumns(task.risk_output)
    if isinstance(task, MulticlassTask):
        return MulticlassColumns(task.classes, task.probability_outputs)
    if isinstance(task, DetectionTask):
        return DetectionColumns(task.classes)
    return RegressionColumns(task.lower_output, task.upper_output)


def _names(data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise DefinitionError(f"{path}.{key}", "must be a non-empty list of names")
    if len(set(value)) != len(value):
        raise DefinitionError(f"{path}.{key}", "must not repeat a name")
    return tuple(value)


def _name(data: Mapping[str, Any], key: str, path: str, *, optional: bool = False) -> str | None:
    value = data.get(key)
    if (value is None and optional) or (isinstance(value, str) and value):
        return value
    raise DefinitionError(f"{path}.{key}", "must be a name" + (" or null" if optional else ""))


def task_columns_from_dict(data: Any, path: str) -> TaskColumns:
    """:meth:`to_dict`'s output read back; raises DefinitionError naming ``path``'s key."""
    if not isinstance(data, Mapping):
        raise DefinitionError(path, "must be an object")
    kind = data.get("kind")
    if kind == "binary":
        return BinaryColumns(str(_name(data, "risk_output", path)))
    if kind == "multiclass":
        classes = _names(data, "classes", path)
        outputs = _names(data, "probability_outputs", path)
        if len(outputs) != len(classes):
            raise DefinitionError(f"{path}.probability_outputs", "must name one output per class")
        return MulticlassColumns(classes, outputs)
    if kind == "regression":
        lower = _name(data, "lower_output", path, optional=True)
        upper = _name(data, "upper_output", path, optional=True)
        if (lower is None) != (upper is None):
            raise DefinitionError(path, "an interval needs both lower_output and upper_output")
        return RegressionColumns(lower, upper)
    if kind == "detection":
        return DetectionColumns(_names(data, "classes", path))
    raise DefinitionError(
        f"{path}.kind", f"must be binary, multiclass, regression or detection, got {kind!r}"
    )
