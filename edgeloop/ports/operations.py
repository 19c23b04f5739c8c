"""Operations ports: the holding places of messages the data path set aside (``edgeloop ops``).

Adapters: ``held_queue`` (Storage queue poison and emulated dead-letter queues), ``held_blobs``
(the site's ``quarantine``), ``servicebus_dead_letters``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from edgeloop.domain.held_messages import HeldMessage


class HeldMessages(Protocol):
    """A holding place (poison queue, quarantine, dead letters) and the entity ``source`` its
    messages are replayed to. Every method raises ``HeldMessageError`` when it cannot be used now."""

    name: str
    source: str

    def peek(self, limit: int) -> list[HeldMessage]:
        """Up to ``limit`` held messages, oldest first, unchanged (no handle)."""
        ...

    def take(self, message_ids: Sequence[str] | None, limit: int) -> list[HeldMessage]:
        """Lock the messages named (None: up to ``limit`` of any) for changing; ids not held are left out."""
        ...

    def resend(self, message: HeldMessage) -> None:
        """Put a taken message's content back on ``source``, as it was before it was held."""
        ...

    def delete(self, message: HeldMessage) -> None:
        """Remove a taken message from the place."""
        ...

    def release(self, message: HeldMessage) -> None:
        """Unlock a taken message, unchanged."""
        ...
