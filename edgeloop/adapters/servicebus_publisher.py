"""The EventPublisher port on Azure Service Bus (azure-servicebus), for the topic ``insights``.

No Service Bus emulator runs here, so tests inject a recording sender; the
live test runs against a real namespace when SERVICEBUS_CONNECTION_STRING is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.config.connections import Connection
from edgeloop.ports import BlobWrittenEvent
from edgeloop.wire.claim_check import event_document

CONTENT_TYPE = "application/json"


def event_body(event: BlobWrittenEvent) -> dict[str, Any]:
    """The event as the JSON body consumers read (``parse_event`` rebuilds it)."""
    return event_document(event)


def event_properties(event: BlobWrittenEvent) -> dict[str, str | int]:
    """Application properties: what subscription filters may select on without reading the body."""
    return {
        "site_id": event.site_id,
        "container": event.container,
        "record_count": event.record_count,
        "insight_count": event.insight_count,
        "feedback_count": event.feedback_count,
    }


def to_service_bus_message(event: BlobWrittenEvent) -> ServiceBusMessage:
    return ServiceBusMessage(
        orjson.dumps(event_body(event)),
        # Deterministic: the topic's duplicate detection drops a republished event.
        message_id=event.message_id,
        subject=event.subject,
        content_type=CONTENT_TYPE,
        application_properties=event_properties(event),  # type: ignore[arg-type]
    )


class MessageSender(Protocol):
    """The part of ``azure.servicebus.ServiceBusSender`` the publisher uses."""

    def send_messages(self, message: list[ServiceBusMessage]) -> None: ...

    def close(self) -> None: ...


class ServiceBusEventPublisher:
    def __init__(self, sender: MessageSender, client: ServiceBusClient | None = None) -> None:
        self._sender = sender
        self._client = client

    @classmethod
    def from_connection_string(cls, connection_string: str, topic: str) -> ServiceBusEventPublisher:
        client = ServiceBusClient.from_connection_string(connection_string)
        return cls(client.get_topic_sender(topic_name=topic), client)

    @classmethod
    def from_connection(
        cls, connection: Connection, topic: str, clients: AzureClients | None = None
    ) -> ServiceBusEventPublisher:
        """A Service Bus connection string or an identity-based namespace (edgeloop.config.connections)."""
        client = (clients or AzureClients()).service_bus(connection)
        return cls(client.get_topic_sender(topic_name=topic), client)

    def publish(self, events: Sequence[BlobWrittenEvent]) -> None:
        if events:
            # One call: the SDK sends the list as a single batch (all or nothing).
            self._sender.send_messages([to_service_bus_message(event) for event in events])

    def close(self) -> None:
        self._sender.close()
        if self._client is not None:
            self._client.close()
