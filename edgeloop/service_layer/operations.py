"""Operations on held messages: list, show, replay and purge (``edgeloop ops``).

Replay puts a message back on its source, then deletes it from the holding place: at least
once. A crash between the two leaves it in both; replaying it again sends it twice, which the
consumers absorb (the filter writes blobs named by the message's digest, the cloud side is
idempotent by event id). Purge deletes. Every replay and purge writes an audit document (who,
when, which place, which ids, what was missing, any error) to the place's account, even when
it fails midway; the audit names ids and reasons, never a message's content.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from edgeloop.domain.held_messages import HeldMessage
from edgeloop.domain.records import format_timestamp
from edgeloop.ports import BlobStore, HeldMessages
from edgeloop.wire.storage_layout import (
    AUDIT_CONTENT_TYPE,
    OPERATIONS_AUDIT_CONTAINER,
    operations_audit_blob_name,
)

SHOW_PEEK = 32


class UnknownPlace(KeyError):
    """No holding place by that name; ``places`` lists the known ones."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(name)
        self.message = f"place: no holding place {name!r} (known: {', '.join(known)})"

    def __str__(self) -> str:
        return self.message


class MessageNotHeld(LookupError):
    """The message asked for is not (or no longer) in the place."""


@dataclass(frozen=True)
class HoldingPlace:
    held: HeldMessages
    audit: BlobStore  # the place's own account: an edge place's audit stays on site


@dataclass
class Outcome:
    action: str
    place: str
    done: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    error: str | None = None
    audit_blob: str | None = None


class HeldMessageOperations:
    def __init__(
        self,
        places: Mapping[str, HoldingPlace],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._places = dict(places)
        self._clock = clock

    def place_names(self) -> list[str]:
        return sorted(self._places)

    def _place(self, name: str) -> HoldingPlace:
        place = self._places.get(name)
        if place is None:
            raise UnknownPlace(name, self.place_names())
        return place

    def source_of(self, name: str) -> str:
        return self._place(name).held.source

    def list(self, name: str, limit: int) -> list[HeldMessage]:
        return self._place(name).held.peek(limit)

    def show(self, name: str, message_id: str) -> HeldMessage:
        held = self._place(name).held
        for message in held.peek(SHOW_PEEK):
            if message.message_id == message_id:
                return message
        # Beyond what a peek reaches: take it, look, let it go unchanged.
        for message in held.take([message_id], limit=1):
            held.release(message)
            return message
        raise MessageNotHeld(f"id: {message_id!r} is not held in {name}")

    def replay(self, name: str, message_ids: Sequence[str] | None, limit: int, actor: str) -> Outcome:
        held = self._place(name).held

        def replay_one(message: HeldMessage) -> None:
            held.resend(message)  # first: a crash now leaves a copy in the place, never none
            held.delete(message)

        return self._apply("replay", name, message_ids, limit, actor, replay_one)

    def purge(self, name: str, message_ids: Sequence[str] | None, limit: int, actor: str) -> Outcome:
        return self._apply("purge", name, message_ids, limit, actor, self._place(name).held.delete)

    def _apply(
        self,
        action: str,
        name: str,
        message_ids: Sequence[str] | None,
        limit: int,
        actor: str,
        change: Callable[[HeldMessage], None],
    ) -> Outcome:
        place = self._place(name)
        outcome = Outcome(action, name)
        started = self._clock()
        taken: list[HeldMessage] = []
        try:
            taken = place.held.take(message_ids, limit)
            found = {message.message_id for message in taken}
            outcome.missing = [i for i in dict.fromkeys(message_ids or ()) if i not in found]
            for message in taken:
                change(message)
                outcome.done.append(message.message_id)
        except Exception as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
            for message in taken:
                if message.message_id not in outcome.done:
                    place.held.release(message)
            raise
        finally:
            outcome.audit_blob = self._audit(place, outcome, started, actor, message_ids, limit, taken)
        return outcome

    def _audit(
        self,
        place: HoldingPlace,
        outcome: Outcome,
        started: datetime,
        actor: str,
        message_ids: Sequence[str] | None,
        limit: int,
        taken: Sequence[HeldMessage],
    ) -> str:
        stamp = format_timestamp(started)
        document: dict[str, Any] = {
            "at": stamp,
            "finished_at": format_timestamp(self._clock()),
            "actor": actor,
            "action": outcome.action,
            "place": outcome.place,
            "source": place.held.source,
            "requested": list(message_ids) if message_ids is not None else {"all": True, "limit": limit},
            "done": outcome.done,
            "missing": outcome.missing,
            "error": outcome.error,
            "messages": [m.summary() for m in taken if m.message_id in set(outcome.done)],
        }
        blob = operations_audit_blob_name(stamp, outcome.action, uuid.uuid4().hex[:12])
        data = orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
        place.audit.put(OPERATIONS_AUDIT_CONTAINER, blob, data, content_type=AUDIT_CONTENT_TYPE)
        return blob
