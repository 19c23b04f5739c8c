"""Messages held back from the data path: poison queues, quarantine, dead-letter subqueues.

A *holding place* keeps what a consumer could not (or must not) process: the Storage queue
``<queue>-poison`` (the Functions host after ``maxDequeueCount``), the site's ``quarantine``
container (records the compliance policy refused) and a Service Bus subscription's dead-letter
subqueue (``<topic>-<subscription>-deadletter`` locally). Operators list, show, replay and
purge them (edgeloop.service_layer.operations). Pure values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class HeldMessageError(RuntimeError):
    """A holding place cannot be read or changed right now (the operator may retry)."""


@dataclass(frozen=True)
class HeldMessage:
    """One held message. ``message_id`` is stable within its place (queue message id, blob
    name, sequence number); ``body`` is the content as held; ``handle`` is the adapter's own
    token for changing it (pop receipt, ETag, locked message) and None when only peeked."""

    place: str
    message_id: str
    body: bytes
    held_since: datetime | None = None
    delivery_count: int | None = None
    reason: str | None = None
    handle: Any = field(default=None, compare=False, repr=False)

    def summary(self) -> dict[str, Any]:
        """What ``list`` shows and the audit may name: never the body (it may hold personal data)."""
        return {
            "place": self.place,
            "id": self.message_id,
            "held_since": None if self.held_since is None else self.held_since.isoformat(),
            "delivery_count": self.delivery_count,
            "reason": self.reason,
            "bytes": len(self.body),
        }


def wants_more(taken_ids: set[str], wanted: set[str] | None, limit: int) -> bool:
    """Whether ``take`` should receive another page: fewer than ``limit``, or a named id still missing."""
    if wanted is None:
        return len(taken_ids) < limit
    return not wanted <= taken_ids
