"""The champion pointer: which registered version the sites serve, and how it got there.

Stored as ``models/<name>/champion.json`` (signed: edgeloop.domain.signed_pointer) and only
ever replaced with an ETag condition, so two concurrent promotions cannot both win. The
history is append-only: each promotion or rollback records who, when and why, and a
rollback returns to the version that was champion before the current one.

``serial`` grows by one with every pointer written (promotion, rollback, refresh): a rollback
is a *new* pointer naming an older version, which is how a site tells it from a replayed old
pointer. ``expires`` and ``bundle_sha256`` (the digest of the named version's manifest) are
set when the pointer is signed (:meth:`ChampionPointer.sealed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from edgeloop.domain.records import RecordError, format_timestamp, parse_timestamp

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
    serial: int = 0  # 0: a pointer from before pointers were signed
    expires: datetime | None = None
    bundle_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": POINTER_FORMAT,
            "name": self.name,
            "version": self.version,
            "serial": self.serial,
            "expires": None if self.expires is None else format_timestamp(self.expires),
            "bundle_sha256": self.bundle_sha256,
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
        serial, expires, digest = data.get("serial", 0), data.get("expires"), data.get("bundle_sha256")
        if not isinstance(serial, int) or isinstance(serial, bool) or serial < 0:
            raise ChampionError("champion pointer 'serial' must be a whole number >= 0")
        if not all(value is None or isinstance(value, str) for value in (expires, digest)):
            raise ChampionError("champion pointer 'expires' and 'bundle_sha256' must be strings")
        try:
            events = tuple(_event(item) for item in history)
            expiry = None if expires is None else parse_timestamp(expires, "expires")
        except RecordError as exc:
            raise ChampionError(f"champion pointer: {exc}") from None
        return cls(name, version, events, serial, expiry, digest)

    def sealed(self, expires: datetime, bundle_sha256: str) -> ChampionPointer:
        """This pointer as it is signed: valid until ``expires``, naming the bundle by its digest."""
        return replace(self, expires=expires, bundle_sha256=bundle_sha256)

    def refreshed(self) -> ChampionPointer:
        """The same champion under the next serial (to be sealed with a later expiry)."""
        return replace(self, serial=self.serial + 1, expires=None)

    def promoted(self, version: str, actor: str, reason: str, at: datetime) -> ChampionPointer:
        event = ChampionEvent("promote", version, self.version, actor, reason, at)
        return self._next(version, event)

    def _next(self, version: str, event: ChampionEvent) -> ChampionPointer:
        history = (*self.history, event)[-MAX_HISTORY:]
        return ChampionPointer(self.name, version, history, self.serial + 1)

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
        return self._next(target, event)


def first_pointer(name: str, version: str, actor: str, reason: str, at: datetime) -> ChampionPointer:
    return ChampionPointer(name, version, (ChampionEvent("promote", version, None, actor, reason, at),), 1)


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
