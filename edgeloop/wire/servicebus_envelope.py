"""The Service Bus message envelope, as the local system carries it on a storage queue.

Service Bus is emulated locally with storage queues (see docs/functions-host.md): a publisher
writes to queue ``<topic>-<subscription>`` the base64 of the UTF-8 JSON envelope
``{"message_id", "subject"?, "application_properties"?, "content_type"?, "correlation_id"?,
"body"}`` where ``body`` is the JSON event itself.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

ENVELOPE_KEYS = frozenset(
    {"message_id", "subject", "application_properties", "content_type", "correlation_id", "body"}
    | {"dead_letter_reason", "dead_letter_error_description"}
)


class MessageDecodeError(ValueError):
    """A message that no retry can make readable (bad base64 or a bad envelope)."""


@dataclass(frozen=True)
class Envelope:
    message_id: str
    body: Any
    subject: str | None = None
    application_properties: dict[str, Any] = field(default_factory=dict)
    content_type: str = "application/json"
    correlation_id: str | None = None

    def body_bytes(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"message_id": self.message_id, "body": self.body}
        if self.subject is not None:
            document["subject"] = self.subject
        if self.application_properties:
            document["application_properties"] = self.application_properties
        if self.content_type != "application/json":
            document["content_type"] = self.content_type
        if self.correlation_id is not None:
            document["correlation_id"] = self.correlation_id
        return document


def encode_envelope(envelope: Envelope, **extra: str) -> str:
    """The queue message text for ``envelope`` (what publishers send)."""
    document = envelope.to_dict() | extra
    return base64.b64encode(json.dumps(document, ensure_ascii=False).encode("utf-8")).decode("ascii")


def parse_envelope(body: bytes) -> Envelope:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageDecodeError(f"Service Bus envelope is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise MessageDecodeError("Service Bus envelope must be a JSON object")
    unknown = set(document) - ENVELOPE_KEYS
    if unknown:
        raise MessageDecodeError(f"Service Bus envelope: unknown fields {sorted(unknown)}")
    message_id = document.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise MessageDecodeError("Service Bus envelope: 'message_id' must be a non-empty string")
    if "body" not in document:
        raise MessageDecodeError("Service Bus envelope: 'body' is missing")
    properties = document.get("application_properties", {})
    if not isinstance(properties, dict):
        raise MessageDecodeError("Service Bus envelope: 'application_properties' must be an object")
    for key in ("subject", "content_type", "correlation_id"):
        if document.get(key) is not None and not isinstance(document[key], str):
            raise MessageDecodeError(f"Service Bus envelope: '{key}' must be a string")
    return Envelope(
        message_id=message_id,
        body=document["body"],
        subject=document.get("subject"),
        application_properties=properties,
        content_type=document.get("content_type") or "application/json",
        correlation_id=document.get("correlation_id"),
    )
