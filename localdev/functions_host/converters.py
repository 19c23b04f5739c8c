"""Turn a storage queue message into the trigger argument: queue message or Service Bus message."""

from __future__ import annotations

from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.functions.servicebus import ServiceBusMessage
from azure.storage.queue import QueueMessage as StorageMessage

from edgeloop.wire.servicebus_envelope import MessageDecodeError, encode_envelope, parse_envelope
from localdev.functions_host.messages import decode_body, to_queue_message, to_service_bus_message


class QueueTriggerConverter:
    def __init__(self, message_encoding: str) -> None:
        self._encoding = message_encoding

    def convert(self, message: StorageMessage) -> FunctionQueueMessage:
        return to_queue_message(message, decode_body(str(message.content or ""), self._encoding))

    def failed_text(self, message: StorageMessage, reason: str, description: str) -> str:
        return str(message.content or "")  # the poison queue gets the message as it was


class ServiceBusConverter:
    """Envelopes are always base64 text (see docs/functions-host.md)."""

    def convert(self, message: StorageMessage) -> ServiceBusMessage:
        envelope = parse_envelope(decode_body(str(message.content or ""), "base64"))
        return to_service_bus_message(envelope, message, locked_until=message.next_visible_on)

    def failed_text(self, message: StorageMessage, reason: str, description: str) -> str:
        text = str(message.content or "")
        try:
            envelope = parse_envelope(decode_body(text, "base64"))
        except MessageDecodeError:
            return text  # unreadable: dead-lettered unchanged
        return encode_envelope(
            envelope, dead_letter_reason=reason, dead_letter_error_description=description[:1024]
        )
