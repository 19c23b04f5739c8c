"""The site-status record (kind ``site_status``): a site's heartbeat, sent like insights.

A site writes one every ``SCORING_HEARTBEAT_INTERVAL_SECONDS`` into its outbox; it travels the
insights' path (queue, compliance filter, compliant blob, claim-check event, ingest) and the
cloud keeps the latest per site and a history (edgeloop.domain.fleet derives the site's state).
Nothing personal and no secret is in it: model versions, counts, ages and the drift summary.

Wire form (schema 1): ``kind``, ``schema_version``, ``status_id`` (the idempotency key),
``site_id``, ``reported_at`` are required; every other key is optional on read (a policy that
drops one leaves its default, never a refused blob): ``model`` (the serving model),
``champion_version`` (the newest champion the site has seen; null: none), ``outbox_depth``,
``outbox_oldest_age_s``, ``relay_lag_s`` (seconds since the relay last worked; null: never),
``last_send_at`` (null: nothing sent yet), ``scoring_errors`` / ``relay_failures`` /
``heartbeat_failures`` (counts since the previous heartbeat this process wrote), ``drift``
(``{"status", "window_rows", "features": {name: {key: scalar}}}``) and ``rejected_versions``
(the versions this site refused to serve: a failed golden check, signature or load, or its own
automatic rollback; the rollout watch reads them, edgeloop.service_layer.rollout_watch).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from edgeloop.domain.records import (
    SCHEMA_VERSION,
    SITE_STATUS_KIND,
    SUPPORTED_SCHEMA_VERSIONS,
    TASK_KINDS,
    ModelRef,
    RecordError,
    format_timestamp,
    parse_timestamp,
)

DriftStatus = Literal["ok", "watch", "drift", "unavailable"]
DRIFT_STATUSES: tuple[DriftStatus, ...] = ("ok", "watch", "drift", "unavailable")
UNKNOWN_MODEL: Final = ModelRef("", "", "")
FeatureFigures = Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True, slots=True)
class DriftSummary:
    """What the site's drift monitor says of its recent inputs (unavailable: no monitor)."""

    status: DriftStatus = "unavailable"
    window_rows: int = 0
    features: Mapping[str, FeatureFigures] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        features = {name: dict(figures) for name, figures in self.features.items()}
        return {"status": self.status, "window_rows": self.window_rows, "features": features}


NO_DRIFT: Final = DriftSummary()


def drift_summary_of(value: Any) -> DriftSummary:
    """A drift provider's answer (or a wire ``drift`` object) as a summary; raises RecordError.

    Per feature only plain figures are kept (numbers, text, flags): nested values are left out,
    as the compliance policy could not vet them.
    """
    if value is None:
        return NO_DRIFT
    if not isinstance(value, Mapping):
        raise RecordError("drift", "must be an object")
    status = value.get("status", "unavailable")
    if status not in DRIFT_STATUSES:
        raise RecordError("drift.status", f"must be one of {', '.join(DRIFT_STATUSES)}")
    rows = value.get("window_rows", 0)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise RecordError("drift.window_rows", "must be a count")
    features = value.get("features") or {}
    if not isinstance(features, Mapping):
        raise RecordError("drift.features", "must be an object")
    kept: dict[str, dict[str, str | int | float | bool | None]] = {}
    for name, figures in features.items():
        if not isinstance(figures, Mapping):
            raise RecordError(f"drift.features.{name}", "must be an object")
        kept[str(name)] = {
            str(key): figure
            for key, figure in figures.items()
            if figure is None or isinstance(figure, str | bool | int) or _finite(figure)
        }
    return DriftSummary(status, rows, kept)


def _finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


# A status id names a document in every store (Cosmos DB ids refuse '/', '\\', '?' and '#').
STATUS_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def new_status_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class SiteStatusRecord:
    status_id: str
    site_id: str
    reported_at: datetime
    model: ModelRef = UNKNOWN_MODEL
    champion_version: str | None = None
    outbox_depth: int = 0
    outbox_oldest_age_s: float = 0.0
    relay_lag_s: float | None = None
    last_send_at: datetime | None = None
    scoring_errors: int = 0
    relay_failures: int = 0
    heartbeat_failures: int = 0
    drift: DriftSummary = NO_DRIFT
    rejected_versions: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION
    kind: Literal["site_status"] = SITE_STATUS_KIND

    def to_wire(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "schema_version": self.schema_version,
            "status_id": self.status_id,
            "site_id": self.site_id,
            "reported_at": format_timestamp(self.reported_at),
            "model": self.model.to_wire(),
            "champion_version": self.champion_version,
            "outbox_depth": self.outbox_depth,
            "outbox_oldest_age_s": self.outbox_oldest_age_s,
            "relay_lag_s": self.relay_lag_s,
            "last_send_at": None if self.last_send_at is None else format_timestamp(self.last_send_at),
            "scoring_errors": self.scoring_errors,
            "relay_failures": self.relay_failures,
            "heartbeat_failures": self.heartbeat_failures,
            "drift": self.drift.to_wire(),
            "rejected_versions": list(self.rejected_versions),
        }

    def newer_than(self, other: SiteStatusRecord | None) -> bool:
        """Whether this one is the site's latest over ``other`` (time, then id: a total order)."""
        return other is None or (self.reported_at, self.status_id) > (other.reported_at, other.status_id)


def _text(data: Mapping[str, Any], name: str, *, optional: bool = False) -> str | None:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise RecordError(name, "missing" if value is None else "must be a non-empty string")
    return value


def _versions(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise RecordError("rejected_versions", "must be a list of version names")
    return tuple(value)


def _count(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(name, "must be a count (an integer, 0 or more)")
    return value


def _seconds(data: Mapping[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise RecordError(name, "must be a number of seconds, 0 or more")
    return float(value)


def _model(data: Mapping[str, Any]) -> ModelRef:
    model = data.get("model")
    if model is None:
        return UNKNOWN_MODEL
    if not isinstance(model, Mapping):
        raise RecordError("model", "must be an object")
    name, version, sha256 = (model.get(key, "") for key in ("name", "version", "sha256"))
    if not all(isinstance(part, str) for part in (name, version, sha256)):
        raise RecordError("model", "name, version and sha256 must be strings")
    task = model.get("task", "binary")
    for kind in TASK_KINDS:
        if task == kind:
            return ModelRef(name, version, sha256, kind)
    raise RecordError("model.task", f"must be one of {', '.join(TASK_KINDS)}")


def site_status_from_wire(data: Mapping[str, Any]) -> SiteStatusRecord:
    """Validate one wire status record; raises :class:`RecordError` naming the field."""
    version = data.get("schema_version")
    if isinstance(version, bool) or version not in SUPPORTED_SCHEMA_VERSIONS:
        raise RecordError("schema_version", f"unsupported schema version {version!r}")
    sent = _text(data, "last_send_at", optional=True)
    status_id = str(_text(data, "status_id"))
    if STATUS_ID.fullmatch(status_id) is None:
        raise RecordError("status_id", "must be 1 to 64 letters, digits, '-' or '_'")
    return SiteStatusRecord(
        status_id=status_id,
        site_id=str(_text(data, "site_id")),
        reported_at=parse_timestamp(str(_text(data, "reported_at")), "reported_at"),
        model=_model(data),
        champion_version=_text(data, "champion_version", optional=True),
        outbox_depth=_count(data, "outbox_depth"),
        outbox_oldest_age_s=_seconds(data, "outbox_oldest_age_s") or 0.0,
        relay_lag_s=_seconds(data, "relay_lag_s"),
        last_send_at=None if sent is None else parse_timestamp(sent, "last_send_at"),
        scoring_errors=_count(data, "scoring_errors"),
        relay_failures=_count(data, "relay_failures"),
        heartbeat_failures=_count(data, "heartbeat_failures"),
        drift=drift_summary_of(data.get("drift")),
        rejected_versions=_versions(data.get("rejected_versions")),
        schema_version=int(version),
    )
