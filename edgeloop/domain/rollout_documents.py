"""Rollout plans and states as JSON documents (the plan file, the signed rollout pointer).

A plan (``models/<name>/rollout-plan.json``, or the file ``edgeloop models rollout plan`` reads)::

    {"rings": [["site-1"], ["site-2", "site-3"]],   # or "percentages": [10, 50, 100]
     "soak_minutes": 60,
     "thresholds": {"max_anomaly_ratio": 2.0, "min_rows": 100, ...}}

Every fault names its field (``RolloutError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import timedelta
from typing import Any

from edgeloop.domain.records import RecordError, format_timestamp, parse_timestamp
from edgeloop.domain.rollout import RolloutError, RolloutEvent, RolloutPlan, RolloutState, Thresholds

_PHASES = ("soaking", "halted", "rolled_back", "complete")
_ACTIONS = ("start", "advance", "complete", "halt", "roll_back", "pin", "unpin")


def plan_from_dict(data: Any) -> RolloutPlan:
    if not isinstance(data, Mapping):
        raise RolloutError("rollout plan: must be a JSON object")
    unknown = sorted(set(data) - {"rings", "percentages", "soak_minutes", "thresholds"})
    if unknown:
        raise RolloutError(f"rollout plan: unknown field(s) {', '.join(unknown)}")
    rings, shares = data.get("rings", []), data.get("percentages", [])
    if not isinstance(rings, list) or not all(_names(ring) for ring in rings):
        raise RolloutError("rollout plan 'rings': a list of lists of site names")
    if not isinstance(shares, list) or not all(_number(share) for share in shares):
        raise RolloutError("rollout plan 'percentages': a list of numbers")
    soak = data.get("soak_minutes", 60)
    if not _number(soak):
        raise RolloutError("rollout plan 'soak_minutes': a number of minutes")
    return RolloutPlan(
        rings=tuple(tuple(ring) for ring in rings),
        percentages=tuple(float(share) for share in shares),
        soak=timedelta(minutes=float(soak)),
        thresholds=thresholds_from_dict(data.get("thresholds", {})),
    )


def plan_to_dict(plan: RolloutPlan) -> dict[str, Any]:
    document: dict[str, Any] = {"soak_minutes": plan.soak.total_seconds() / 60}
    if plan.rings:
        document["rings"] = [list(ring) for ring in plan.rings]
    else:
        document["percentages"] = list(plan.percentages)
    document["thresholds"] = asdict(plan.thresholds)
    return document


def thresholds_from_dict(data: Any) -> Thresholds:
    if not isinstance(data, Mapping):
        raise RolloutError("rollout plan 'thresholds': must be an object")
    known = {item.name: item.type for item in fields(Thresholds)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise RolloutError(f"rollout plan 'thresholds.{key}': unknown threshold")
        whole = known[key] in (int, "int")
        if not _number(value) or value < 0 or (whole and not isinstance(value, int)):
            kind = "a whole number" if whole else "a number"
            raise RolloutError(f"rollout plan 'thresholds.{key}': {kind} >= 0")
        values[key] = value
    return Thresholds(**values)


def state_to_dict(state: RolloutState) -> dict[str, Any]:
    started = state.ring_started_at
    return {
        "name": state.name,
        "candidate": state.candidate,
        "previous": state.previous,
        "rings": [list(ring) for ring in state.rings],
        "soak_seconds": state.soak.total_seconds(),
        "thresholds": asdict(state.thresholds),
        "ring": state.ring,
        "phase": state.phase,
        "ring_started_at": None if started is None else format_timestamp(started),
        "pins": dict(sorted(state.pins.items())),
        "excluded": dict(sorted(state.excluded.items())),
        "history": [_event_to_dict(event) for event in state.history],
    }


def state_from_dict(data: Any) -> RolloutState:
    if not isinstance(data, Mapping):
        raise RolloutError("rollout state: must be a JSON object")
    try:
        rings = tuple(tuple(str(site) for site in ring) for ring in data["rings"])
        started = data.get("ring_started_at")
        phase, ring = data["phase"], data["ring"]
        if phase not in _PHASES or not isinstance(ring, int) or not 0 <= ring < len(rings):
            raise RolloutError(f"rollout state: phase {phase!r} or ring {ring!r} is not possible")
        return RolloutState(
            name=str(data["name"]),
            candidate=str(data["candidate"]),
            previous=str(data["previous"]),
            rings=rings,
            soak=timedelta(seconds=float(data["soak_seconds"])),
            thresholds=thresholds_from_dict(data.get("thresholds", {})),
            ring=ring,
            phase=phase,
            ring_started_at=None if started is None else parse_timestamp(str(started), "ring_started_at"),
            pins=_string_map(data.get("pins", {}), "pins"),
            excluded=_string_map(data.get("excluded", {}), "excluded"),
            history=tuple(_event_from_dict(item) for item in data.get("history", [])),
        )
    except (KeyError, TypeError, ValueError, RecordError) as exc:
        if isinstance(exc, RolloutError):
            raise
        raise RolloutError(f"rollout state: unreadable ({type(exc).__name__}: {exc})") from None


def _event_to_dict(event: RolloutEvent) -> dict[str, Any]:
    return {
        "action": event.action,
        "ring": event.ring,
        "actor": event.actor,
        "reason": event.reason,
        "at": format_timestamp(event.at),
    }


def _event_from_dict(item: Any) -> RolloutEvent:
    if not isinstance(item, Mapping) or item.get("action") not in _ACTIONS:
        raise RolloutError(f"rollout history: not an event: {item!r}")
    return RolloutEvent(
        action=item["action"],
        ring=int(item.get("ring", 0)),
        actor=str(item.get("actor", "")),
        reason=str(item.get("reason", "")),
        at=parse_timestamp(str(item.get("at")), "history.at"),
    )


def _string_map(value: Any, name: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise RolloutError(f"rollout state '{name}': an object of strings")
    return {str(key): item for key, item in value.items()}


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
