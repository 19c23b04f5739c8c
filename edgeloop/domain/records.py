"""The records that travel from the edge to the cloud: insights and feedback.

Wire form: a plain JSON object per record, with ``kind`` and ``schema_version``
so a consumer can reject what it does not understand. ``insight_id`` is the
idempotency key downstream; a feedback record is keyed by ``feedback_id`` and
joins its insight through ``insight_id``.

The model's task (edgeloop.domain.tasks) shows in two optional keys of schema 1,
written only for a model that is not binary, so binary records are byte for byte
those of before tasks: ``model.task`` ("multiclass" | "regression" | "detection"; absent
means binary) and ``prediction`` (the predicted class name or the value; null when the
model's output was not finite), right after ``anomaly_kinds``; a detection model's prediction
is its detections, flat: ``[class, score, x1, y1, x2, y2, ...]`` (corners as fractions of
the model's input; edgeloop.domain.detection_task). A feedback label is the task's: 0/1, a
class name, a number, or a detection's verdicts (``"accept,reject"``); the record does not name the task (the
edge checked the label against the serving model's; the cloud joins it with the
insight, whose model names it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from edgeloop.domain.detection_task import wire_detections_problem
from edgeloop.domain.label_bounds import MAX_LABEL_LENGTH

if TYPE_CHECKING:
    from edgeloop.domain.shadow_records import ShadowInsightRecord
    from edgeloop.domain.site_status import SiteStatusRecord

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})

InputValue = float | int | str
Label = int | float | str
# What an insight predicts: a label's type, or (detection) the list of detections.
Prediction = Label | list[str | float]
# The task kinds (edgeloop.domain.tasks re-exports them; it cannot be imported from here: a cycle).
TaskKind = Literal["binary", "multiclass", "regression", "detection"]
TASK_KINDS: tuple[TaskKind, ...] = ("binary", "multiclass", "regression", "detection")
INSIGHT_KIND: Final = "insight"
FEEDBACK_KIND: Final = "feedback"
SITE_STATUS_KIND: Final = "site_status"  # a site's heartbeat: edgeloop.domain.site_status
SHADOW_INSIGHT_KIND: Final = "shadow_insight"  # a shadowed challenger's output: domain.shadow_records

# Fields that describe the shop floor and must never leave the site unless the
# compliance policy says otherwise (it drops or pseudonymizes them by default).
ON_SITE_CONTEXT_FIELDS = ("product_id", "operator", "notes")


class RecordError(ValueError):
    """A record that cannot be accepted; ``field`` names the offending field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z``, sortable as text."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str, field_name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        raise RecordError(field_name, f"not an ISO 8601 timestamp: {text!r}") from None
    if moment.tzinfo is None:
        raise RecordError(field_name, "timestamp has no timezone")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ModelRef:
    name: str
    version: str
    sha256: str
    task: TaskKind = "binary"  # on the wire only when not binary

    def to_wire(self) -> dict[str, str]:
        wire = {"name": self.name, "version": self.version, "sha256": self.sha256}
        if self.task != "binary":
            wire["task"] = self.task
        return wire


@dataclass(frozen=True, slots=True)
class InsightRecord:
    insight_id: str
    site_id: str
    scored_at: datetime
    model: ModelRef
    inputs: Mapping[str, InputValue]
    # None where the model's output was not finite (the insight is flagged ``invalid_output``).
    outputs: Mapping[str, float | None]
    anomaly: bool
    anomaly_kinds: tuple[str, ...]
    context: Mapping[str, str] = field(default_factory=dict)
    # The predicted class name (multiclass) or value (regression); None for a binary model,
    # or where the model's output was not finite.
    prediction: Prediction | None = None
    schema_version: int = SCHEMA_VERSION
    kind: Literal["insight"] = INSIGHT_KIND

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "kind": self.kind,
            "schema_version": self.schema_version,
            "insight_id": self.insight_id,
            "site_id": self.site_id,
            "scored_at": format_timestamp(self.scored_at),
            "model": self.model.to_wire(),
            "inputs": dict(self.inputs),
            "outputs": dict(self.outputs),
            "anomaly": self.anomaly,
            "anomaly_kinds": list(self.anomaly_kinds),
        }
        if self.model.task != "binary":
            wire["prediction"] = self.prediction
        wire["context"] = dict(self.context)
        return wire


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    feedback_id: str
    insight_id: str
    site_id: str
    label: Label  # as the model's task has it: 0/1, a class name, or a number (edgeloop.domain.tasks)
    recorded_at: datetime
    schema_version: int = SCHEMA_VERSION
    kind: Literal["feedback"] = FEEDBACK_KIND

    def to_wire(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "schema_version": self.schema_version,
            "feedback_id": self.feedback_id,
            "insight_id": self.insight_id,
            "site_id": self.site_id,
            "label": self.label,
            "recorded_at": format_timestamp(self.recorded_at),
        }


Record = InsightRecord | FeedbackRecord


def _require(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in data:
        raise RecordError(name, "missing")
    value = data[name]
    # bool is an int in Python; a flag is never a number here and vice versa.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise RecordError(name, f"expected {kind}, got a boolean")
    if not isinstance(value, kind):
        raise RecordError(name, f"expected {kind}, got {type(value).__name__}")
    return value


def _check_version(data: Mapping[str, Any]) -> int:
    version = _require(data, "schema_version", int)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise RecordError("schema_version", f"unsupported schema version {version}")
    return int(version)


def insight_from_wire(data: Mapping[str, Any]) -> InsightRecord:
    version = _check_version(data)
    model = _require(data, "model", dict)
    inputs = _require(data, "inputs", dict)
    outputs = _require(data, "outputs", dict)
    for key, value in inputs.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise RecordError(f"inputs.{key}", "must be a number or a string")
    for key, value in outputs.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise RecordError(f"outputs.{key}", "must be a number or null")
    kinds = _require(data, "anomaly_kinds", list)
    if not all(isinstance(k, str) for k in kinds):
        raise RecordError("anomaly_kinds", "must be a list of strings")
    context = data.get("context") or {}
    if not isinstance(context, dict) or not all(isinstance(v, str) for v in context.values()):
        raise RecordError("context", "must be an object of strings")
    task = _task_kind(model)
    return InsightRecord(
        insight_id=_require(data, "insight_id", str),
        site_id=_require(data, "site_id", str),
        scored_at=parse_timestamp(_require(data, "scored_at", str), "scored_at"),
        model=ModelRef(
            name=_require(model, "name", str),
            version=_require(model, "version", str),
            sha256=_require(model, "sha256", str),
            task=task,
        ),
        inputs=inputs,
        outputs={k: None if v is None else float(v) for k, v in outputs.items()},
        anomaly=_require(data, "anomaly", bool),
        anomaly_kinds=tuple(kinds),
        context=context,
        prediction=_prediction(data, task),
        schema_version=version,
    )


def _task_kind(model: Mapping[str, Any]) -> TaskKind:
    """The model's task kind: ``model.task``, binary when absent (every record before tasks)."""
    task = model.get("task", "binary")
    for kind in TASK_KINDS:
        if task == kind:
            return kind
    raise RecordError("model.task", f"must be one of {', '.join(TASK_KINDS)}, got {str(task)[:40]!r}")


def _prediction(data: Mapping[str, Any], task: TaskKind) -> Prediction | None:
    """The insight's ``prediction``, of the type its task predicts (null: the output was not finite)."""
    value = data.get("prediction")
    if task == "binary":
        if value is not None:
            raise RecordError("prediction", "a binary model's insight carries no prediction")
        return None
    if value is None:
        return None
    if task == "multiclass" and type(value) is str and value:
        return str(value)
    if task == "regression" and type(value) in (int, float) and math.isfinite(value):
        return float(value)
    if task == "detection":
        problem = wire_detections_problem(value)
        if problem is not None:
            raise RecordError(problem[0], problem[1])
        return list(value)
    expected = "a class name" if task == "multiclass" else "a finite number"
    raise RecordError("prediction", f"must be {expected} or null (task {task})")


def _label(data: Mapping[str, Any]) -> Label:
    """A feedback label: 0/1, a class name or a finite number (which, the insight's task says)."""
    label = _require(data, "label", (int, float, str))
    if type(label) is str:
        if not label or len(label) > MAX_LABEL_LENGTH:
            raise RecordError("label", f"a class name must have 1 to {MAX_LABEL_LENGTH} characters")
        return str(label)
    if not math.isfinite(label):
        raise RecordError("label", "must be a finite number")
    return int(label) if type(label) is int else float(label)


def feedback_from_wire(data: Mapping[str, Any]) -> FeedbackRecord:
    version = _check_version(data)
    return FeedbackRecord(
        feedback_id=_require(data, "feedback_id", str),
        insight_id=_require(data, "insight_id", str),
        site_id=_require(data, "site_id", str),
        label=_label(data),
        recorded_at=parse_timestamp(_require(data, "recorded_at", str), "recorded_at"),
        schema_version=version,
    )


def record_from_wire(data: Any) -> Record | SiteStatusRecord | ShadowInsightRecord:
    """Validate one wire record; raises :class:`RecordError` naming the field."""
    if not isinstance(data, dict):
        raise RecordError("record", "must be a JSON object")
    kind = data.get("kind")
    if kind == INSIGHT_KIND:
        return insight_from_wire(data)
    if kind == FEEDBACK_KIND:
        return feedback_from_wire(data)
    if kind == SITE_STATUS_KIND:
        from edgeloop.domain.site_status import site_status_from_wire  # builds on this module

        return site_status_from_wire(data)
    if kind == SHADOW_INSIGHT_KIND:
        from edgeloop.domain.shadow_records import shadow_insight_from_wire  # builds on this module

        return shadow_insight_from_wire(data)
    raise RecordError("kind", f"unknown record kind {kind!r}")
