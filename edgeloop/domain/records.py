"""The records that travel from the edge to the cloud: insights and feedback.

Wire form: a plain JSON object per record, with ``kind`` and ``schema_version``
so a consumer can reject what it does not understand. ``insight_id`` is the
idempotency key downstream; a feedback record is keyed by ``feedback_id`` and
joins its insight through ``insight_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})

InputValue = float | int | str
INSIGHT_KIND: Final = "insight"
FEEDBACK_KIND: Final = "feedback"

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

    def to_wire(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class InsightRecord:
    insight_id: str
    site_id: str
    scored_at: datetime
    model: ModelRef
    inputs: Mapping[str, InputValue]
    outputs: Mapping[str, float]
    anomaly: bool
    anomaly_kinds: tuple[str, ...]
    context: Mapping[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    kind: Literal["insight"] = INSIGHT_KIND

    def to_wire(self) -> dict[str, Any]:
        return {
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
            "context": dict(self.context),
        }


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    feedback_id: str
    insight_id: str
    site_id: str
    label: int
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
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordError(f"outputs.{key}", "must be a number")
    kinds = _require(data, "anomaly_kinds", list)
    if not all(isinstance(k, str) for k in kinds):
        raise RecordError("anomaly_kinds", "must be a list of strings")
    context = data.get("context") or {}
    if not isinstance(context, dict) or not all(isinstance(v, str) for v in context.values()):
        raise RecordError("context", "must be an object of strings")
    return InsightRecord(
        insight_id=_require(data, "insight_id", str),
        site_id=_require(data, "site_id", str),
        scored_at=parse_timestamp(_require(data, "scored_at", str), "scored_at"),
        model=ModelRef(
            name=_require(model, "name", str),
            version=_require(model, "version", str),
            sha256=_require(model, "sha256", str),
        ),
        inputs=inputs,
        outputs={k: float(v) for k, v in outputs.items()},
        anomaly=_require(data, "anomaly", bool),
        anomaly_kinds=tuple(kinds),
        context=context,
        schema_version=version,
    )


def feedback_from_wire(data: Mapping[str, Any]) -> FeedbackRecord:
    version = _check_version(data)
    label = _require(data, "label", int)
    if label not in (0, 1):
        raise RecordError("label", "must be 0 or 1")
    return FeedbackRecord(
        feedback_id=_require(data, "feedback_id", str),
        insight_id=_require(data, "insight_id", str),
        site_id=_require(data, "site_id", str),
        label=int(label),
        recorded_at=parse_timestamp(_require(data, "recorded_at", str), "recorded_at"),
        schema_version=version,
    )


def record_from_wire(data: Any) -> Record:
    """Validate one wire record; raises :class:`RecordError` naming the field."""
    if not isinstance(data, dict):
        raise RecordError("record", "must be a JSON object")
    kind = data.get("kind")
    if kind == INSIGHT_KIND:
        return insight_from_wire(data)
    if kind == FEEDBACK_KIND:
        return feedback_from_wire(data)
    raise RecordError("kind", f"unknown record kind {kind!r}")
