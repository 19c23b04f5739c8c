"""Storage queue messages as the function sees them, and emulated Service Bus messages.

The envelope itself (what a publisher writes) is ``edgeloop.wire.servicebus_envelope``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.functions.servicebus import ServiceBusMessage
from azure.storage.queue import QueueMessage as StorageMessage

from edgeloop.wire.servicebus_envelope import Envelope, MessageDecodeError


def decode_body(text: str, encoding: str) -> bytes:
    """The body bytes of a message stored as ``text`` under ``messageEncoding``."""
    if encoding == "none":
        return text.encode("utf-8")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MessageDecodeError(f"message is not valid base64 ({exc})") from None


def to_queue_message(message: StorageMessage, body: bytes) -> FunctionQueueMessage:
    return FunctionQueueMessage(  # type: ignore[no-untyped-call]  # the library leaves it untyped
        id=message.id,
        body=body,
        dequeue_count=message.dequeue_count,
        expiration_time=message.expires_on,
        insertion_time=message.inserted_on,
        time_next_visible=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )


def to_service_bus_message(
    envelope: Envelope, message: StorageMessage, locked_until: datetime | None
) -> ServiceBusMessage:
    return ServiceBusMessage(
        body=envelope.body_bytes(),
        message_id=envelope.message_id,
        subject=envelope.subject,
        label=envelope.subject,
        content_type=envelope.content_type,
        correlation_id=envelope.correlation_id,
        application_properties=dict(envelope.application_properties),
        user_properties=dict(envelope.application_properties),
        delivery_count=message.dequeue_count,
        enqueued_time_utc=message.inserted_on,
        expires_at_utc=message.expires_on,
        locked_until=locked_until,
        lock_token=message.pop_receipt,
    )
