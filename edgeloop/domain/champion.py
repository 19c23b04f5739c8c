"""The champion pointer: which registered version the sites serve, and how it got there.

Stored as ``models/<name>/champion.json`` and only ever replaced with an ETag
condition, so two concurrent promotions cannot both win. The history is
append-only: each promotion or rollback records who, when and why, and a
rollback returns to the version that was champion before the current one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from edgeloop.domain.records import format_timestamp, parse_timestamp

POINTER_FORMAT = "edgeloop.champion"
Action = Literal["promote", "rollback"]
MAX_HISTORY = 500  # events kept in the pointer; older ones are dropped, versions stay


class ChampionError(ValueError):
    """A champion document that cannot be read, or a transition that is impossible."""


@dataclass(frozen=True, slots=True)
class ChampionEvent:
    action: Action
    version: str
    previous: str | None
    actor: str
    reason: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "version": self.version,
            "previous": self.previous,
            "actor": self.actor,
            "reason": self.reason,
            "at": format_timestamp(self.at),
        }


@dataclass(frozen=True, slots=True)
class ChampionPointer:
    name: str
    version: str
    history: tuple[ChampionEvent, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": POINTER_FORMAT,
            "name": self.name,
            "version": self.version,
            "history": [event.to_dict() for event in self.history],
        }

    @classmethod
    def from_dict(cls, data: Any) -> ChampionPointer:
        if not isinstance(data, Mapping) or data.get("format") != POINTER_FORMAT:
            raise ChampionError(f"not a champion pointer (format must be {POINTER_FORMAT!r})")
        name, version, history = data.get("name"), data.get("version"), data.get("history", [])
        if not isinstance(name, str) or not isinstance(version, str) or not version:
            raise ChampionError("champion pointer needs string 'name' and 'version'")
        if not isinstance(history, list):
            raise ChampionError("champion pointer 'history' must be a list")
        return cls(name, version, tuple(_event(item) for item in history))

    def promoted(self, version: str, actor: str, reason: str, at: datetime) -> ChampionPointer:
        event = ChampionEvent("promote", version, self.version, actor, reason, at)
        return ChampionPointer(self.name, version, (*self.history, event)[-MAX_HISTORY:])

    def rollback_target(self) -> str:
        """The version that was champion before the current one was promoted.

        The last event always installed the current version. After a promotion that
        is its ``previous``; after a rollback to X, what preceded X's own promotion.
        """
        missing = ChampionError(f"{self.name} {self.version} has no previous champion to return to")
        if not self.history:
            raise missing
        last = self.history[-1]
        if last.action == "promote":
            if last.previous is None:
                raise missing
            return last.previous
        for event in reversed(self.history[:-1]):
            if event.action == "promote" and event.version == self.version:
                if event.previous is None:
                    raise missing
                return event.previous
        raise missing

    def rolled_back(self, actor: str, reason: str, at: datetime) -> ChampionPointer:
        target = self.rollback_target()
        event = ChampionEvent("rollback", target, self.version, actor, reason, at)
        return ChampionPointer(self.name, target, (*self.history, event)[-MAX_HISTORY:])


def first_pointer(name: str, version: str, actor: str, reason: str, at: datetime) -> ChampionPointer:
    return ChampionPointer(name, version, (ChampionEvent("promote", version, None, actor, reason, at),))


def _event(item: Any) -> ChampionEvent:
    if not isinstance(item, Mapping):
        raise ChampionError("champion history entries must be objects")
    action = item.get("action")
    if action not in ("promote", "rollback"):
        raise ChampionError(f"unknown champion history action {action!r}")
    previous = item.get("previous")
    return ChampionEvent(
        action=action,
        version=str(item.get("version")),
        previous=None if previous is None else str(previous),
        actor=str(item.get("actor", "")),
        reason=str(item.get("reason", "")),
        at=parse_timestamp(str(item.get("at")), "history.at"),
    )
