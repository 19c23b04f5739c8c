"""The shadow insight (record kind ``shadow_insight``): what the shadowed challenger said of a row.

Written on site after the champion's insight was committed, off the answer path
(edgeloop.service_layer.shadow_scoring), it travels the insights' path (outbox, queue,
compliance filter, compliant blob, ingest). Derived outputs only: no model input, no
context, so nothing personal can ride along; what the served model said of the same row
is carried too, so agreement needs no join in the cloud.

Wire form (schema 1)::

    {"kind": "shadow_insight", "schema_version": 1,
     "shadow_id": "<insight_id>@<shadow version>",   # the idempotency key
     "insight_id": "<the champion's insight>", "site_id": ..., "scored_at": ...,
     "model": {"name", "version", "sha256"[, "task"]},  # the shadow model
     "served": {"version": ..., "anomaly": bool, "prediction": ...},  # the answer's
     "outputs": {...}, "anomaly": bool, "anomaly_kinds": [...], "prediction": ...}

``prediction`` is the class name (multiclass) or value (regression), null for a binary model
or an output that was not finite, as in an insight; an image model's ``outputs`` are its
insight's (class probabilities; a detection model's counts per class) and a detection model's
``prediction`` its detections, flat (``served.prediction`` likewise): derived results, never a pixel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from edgeloop.domain.detection_task import wire_detections_problem
from edgeloop.domain.records import (
    SCHEMA_VERSION,
    SHADOW_INSIGHT_KIND,
    SUPPORTED_SCHEMA_VERSIONS,
    TASK_KINDS,
    Label,
    ModelRef,
    Prediction,
    RecordError,
    TaskKind,
    format_timestamp,
    parse_timestamp,
)

__all__ = ["SHADOW_INSIGHT_KIND", "ServedOutcome", "ShadowInsightRecord", "shadow_insight_from_wire"]


def shadow_id_of(insight_id: str, shadow_version: str) -> str:
    return f"{insight_id}@{shadow_version}"


@dataclass(frozen=True, slots=True)
class ServedOutcome:
    """What the answer said of the row: the served version's anomaly flag and prediction."""

    version: str
    anomaly: bool
    prediction: Prediction | None = None


@dataclass(frozen=True, slots=True)
class ShadowInsightRecord:
    insight_id: str
    site_id: str
    scored_at: datetime
    model: ModelRef  # the shadow model
    served: ServedOutcome
    outputs: Mapping[str, float | None]
    anomaly: bool
    anomaly_kinds: tuple[str, ...] = ()
    prediction: Prediction | None = None
    schema_version: int = SCHEMA_VERSION
    kind: str = field(default=SHADOW_INSIGHT_KIND)

    @property
    def shadow_id(self) -> str:
        return shadow_id_of(self.insight_id, self.model.version)

    def to_wire(self) -> dict[str, Any]:
        return {
            "kind": SHADOW_INSIGHT_KIND,
            "schema_version": self.schema_version,
            "shadow_id": self.shadow_id,
            "insight_id": self.insight_id,
            "site_id": self.site_id,
            "scored_at": format_timestamp(self.scored_at),
            "model": self.model.to_wire(),
            "served": {
                "version": self.served.version,
                "anomaly": self.served.anomaly,
                "prediction": self.served.prediction,
            },
            "outputs": dict(self.outputs),
            "anomaly": self.anomaly,
            "anomaly_kinds": list(self.anomaly_kinds),
            "prediction": self.prediction,
        }


def shadow_insight_from_wire(data: Mapping[str, Any]) -> ShadowInsightRecord:
    """Validate one wire shadow insight; raises :class:`RecordError` naming the field."""
    version = _typed(data, "schema_version", int)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise RecordError("schema_version", f"unsupported schema version {version}")
    model, served, outputs = (_typed(data, name, dict) for name in ("model", "served", "outputs"))
    for key, value in outputs.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise RecordError(f"outputs.{key}", "must be a number or null")
    kinds = _typed(data, "anomaly_kinds", list)
    if not all(isinstance(kind, str) for kind in kinds):
        raise RecordError("anomaly_kinds", "must be a list of strings")
    task = _task(model)
    record = ShadowInsightRecord(
        insight_id=_typed(data, "insight_id", str),
        site_id=_typed(data, "site_id", str),
        scored_at=parse_timestamp(_typed(data, "scored_at", str), "scored_at"),
        model=ModelRef(
            _typed(model, "name", str, "model."),
            _typed(model, "version", str, "model."),
            _typed(model, "sha256", str, "model."),
            task,
        ),
        served=ServedOutcome(
            _typed(served, "version", str, "served."),
            _typed(served, "anomaly", bool, "served."),
            _label(served, "served.prediction"),
        ),
        outputs={key: None if value is None else float(value) for key, value in outputs.items()},
        anomaly=_typed(data, "anomaly", bool),
        anomaly_kinds=tuple(kinds),
        prediction=_label(data, "prediction"),
        schema_version=version,
    )
    if "shadow_id" in data and data["shadow_id"] != record.shadow_id:
        raise RecordError("shadow_id", "must be '<insight_id>@<model.version>'")
    return record


def _task(model: Mapping[str, Any]) -> TaskKind:
    task = model.get("task", "binary")
    for kind in TASK_KINDS:
        if task == kind:
            return kind
    raise RecordError("model.task", f"must be one of {', '.join(TASK_KINDS)}")


def _typed(data: Mapping[str, Any], name: str, kind: type, prefix: str = "") -> Any:
    value = data.get(name)
    if name not in data:
        raise RecordError(prefix + name, "missing")
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
        raise RecordError(prefix + name, f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _label(data: Mapping[str, Any], name: str) -> Prediction | None:
    value = data.get(name.rsplit(".", 1)[-1])
    if value is None or (type(value) is str and value) or type(value) in (int, float):
        return cast(Label, value)
    if isinstance(value, list):  # a detection model's detections, flat
        problem = wire_detections_problem(value)
        if problem is None:
            return list(value)
        raise RecordError(name + problem[0].removeprefix("prediction"), problem[1])
    raise RecordError(name, "must be a class name, a number, detections or null")
