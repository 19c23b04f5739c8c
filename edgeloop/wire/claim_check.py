"""The claim check: a ``BlobWrittenEvent`` that points at a written blob, and its error.

The edge function writes records blobs (their names and format:
edgeloop.wire.storage_layout) and publishes one event per blob; the cloud
consumers (ingest, Power BI feed) parse the event from the message body here,
then read the blob it points to. Pure: orjson only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import orjson

from edgeloop.wire.trace_context import valid_traceparent

_OPTIONAL = frozenset({"traceparent"})


class ClaimCheckError(ValueError):
    """An event or the blob it points to that cannot be used; names what is wrong.

    Retrying will not help: the message is dead-lettered after its redeliveries.
    """


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
    # The publishing span (W3C traceparent, ids only); optional: older sites send none.
    traceparent: str | None = None


def event_document(event: BlobWrittenEvent) -> dict[str, Any]:
    """The event as its JSON body; ``traceparent`` only when set (untraced bodies are unchanged)."""
    document = {spec.name: getattr(event, spec.name) for spec in fields(BlobWrittenEvent)}
    if event.traceparent is None:
        del document["traceparent"]
    return document


def parse_event(body: bytes | str | Mapping[str, Any]) -> BlobWrittenEvent:
    """The event from a message body (the JSON of ``dataclasses.asdict(event)``), field by field."""
    if isinstance(body, bytes | str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ClaimCheckError(f"event: body is not JSON ({exc})") from None
    if not isinstance(body, Mapping):
        raise ClaimCheckError("event: body must be a JSON object")
    values: dict[str, Any] = {}
    for spec in fields(BlobWrittenEvent):
        if spec.name in _OPTIONAL:
            continue
        value = body.get(spec.name)
        expected = int if spec.type in ("int", int) else str
        if isinstance(value, bool) or not isinstance(value, expected):
            raise ClaimCheckError(f"event.{spec.name}: expected {expected.__name__}, got {value!r}")
        values[spec.name] = value
    # A malformed traceparent only loses the link, never the event.
    return BlobWrittenEvent(**values, traceparent=valid_traceparent(body.get("traceparent")))
