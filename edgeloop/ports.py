"""Ports: what the core needs from the outside world, as structural types.

Adapters in ``edgeloop.adapters`` implement these for one technology each
(Azure Storage, SQLite, onnxruntime, ...); the composition roots in
``edgeloop.bootstrap`` pick and wire them. Nothing here imports Azure or web code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class QueueUnavailable(RuntimeError):
    """The queue (or the uplink to it) cannot take messages right now; retry later."""


class QueueSender(Protocol):
    """Sends one message body (raw bytes; the adapter applies the wire encoding)."""

    def send(self, body: bytes) -> None: ...


class BlobStore(Protocol):
    """Named byte objects in containers (Azure Blob Storage in production)."""

    def put(self, container: str, name: str, data: bytes, *, content_type: str, overwrite: bool = True) -> str:
        """Store ``data``; returns the blob's URL."""
        ...

    def get(self, container: str, name: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class BlobWrittenEvent:
    """Claim check: a written blob and what it holds, published once per blob."""

    message_id: str  # deterministic (the blob name): duplicate detection drops republished events
    subject: str  # "compliant" or "anomalies"
    blob_url: str
    container: str
    blob_name: str
    site_id: str
    record_count: int
    insight_count: int
    feedback_count: int


class EventPublisher(Protocol):
    """Publishes claim-check events to the topic ``insights``."""

    def publish(self, events: Sequence[BlobWrittenEvent]) -> None: ...
