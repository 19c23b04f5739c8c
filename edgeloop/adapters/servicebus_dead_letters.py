"""HeldMessages on a Service Bus subscription's dead-letter subqueue (azure-servicebus).

Replay sends a copy to the topic (Service Bus cannot address one subscription), then completes
the dead letter: every subscription sees the event again, which the consumers absorb (ingest
upserts by record id, the Power BI feed's ledger skips delivered chunks). The copy gets a new
message id (``<id>.replay-<token>``): under the original id the topic's duplicate detection
(``duplicateDetectionWindow``, a day in infra/bicep) would drop it.

No Service Bus emulator runs here: tests drive this adapter through recording stand-ins for
the receiver and sender (tests/unit/test_servicebus_dead_letters.py).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from azure.core.exceptions import AzureError
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue
from azure.servicebus.exceptions import ServiceBusError

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.config.connections import Connection
from edgeloop.domain.held_messages import HeldMessage, HeldMessageError, wants_more

RECEIVE_WAIT_SECONDS = 5.0
PAGE = 100


class DeadLetterReceiver(Protocol):
    """The part of ``azure.servicebus.ServiceBusReceiver`` used here."""

    def peek_messages(self, max_message_count: int = 1) -> list[Any]: ...

    def receive_messages(
        self, max_message_count: int | None = 1, max_wait_time: float | None = None
    ) -> list[Any]: ...

    def complete_message(self, message: Any) -> None: ...

    def abandon_message(self, message: Any) -> None: ...


class TopicSender(Protocol):
    def send_messages(self, message: ServiceBusMessage) -> None: ...


@contextlib.contextmanager
def _bus_errors(place: str) -> Iterator[None]:
    try:
        yield
    except (ServiceBusError, AzureError) as exc:
        raise HeldMessageError(f"{place}: {exc}") from exc


def _text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class ServiceBusDeadLetters:
    def __init__(
        self, receiver: DeadLetterReceiver, sender: TopicSender, topic: str, subscription: str
    ) -> None:
        self._receiver, self._sender = receiver, sender
        self.name = f"{topic}-{subscription}-deadletter"
        self.source = topic

    @classmethod
    def from_connection(
        cls, connection: Connection, topic: str, subscription: str, clients: AzureClients
    ) -> ServiceBusDeadLetters:
        client: ServiceBusClient = clients.service_bus(connection)
        receiver = client.get_subscription_receiver(
            topic_name=topic, subscription_name=subscription, sub_queue=ServiceBusSubQueue.DEAD_LETTER
        )
        return cls(receiver, client.get_topic_sender(topic_name=topic), topic, subscription)

    def _message(self, message: Any, handle: bool) -> HeldMessage:
        return HeldMessage(
            place=self.name,
            message_id=str(message.sequence_number),  # unique in the entity; message ids may repeat
            body=b"".join(message.body),
            held_since=message.enqueued_time_utc,
            delivery_count=message.delivery_count,
            reason=message.dead_letter_reason,
            handle=message if handle else None,
        )

    def peek(self, limit: int) -> list[HeldMessage]:
        with _bus_errors(self.name):
            return [
                self._message(m, handle=False) for m in self._receiver.peek_messages(max_message_count=limit)
            ]

    def take(self, message_ids: Sequence[str] | None, limit: int) -> list[HeldMessage]:
        wanted = None if message_ids is None else set(message_ids)
        taken: list[Any] = []
        others: list[Any] = []
        with _bus_errors(self.name):
            try:
                while wants_more({str(m.sequence_number) for m in taken}, wanted, limit):
                    page = self._receiver.receive_messages(
                        max_message_count=PAGE, max_wait_time=RECEIVE_WAIT_SECONDS
                    )
                    if not page:
                        break
                    for message in page:
                        keep = (
                            len(taken) < limit if wanted is None else str(message.sequence_number) in wanted
                        )
                        (taken if keep else others).append(message)
            finally:
                for message in others:
                    self._receiver.abandon_message(message)
        return [self._message(m, handle=True) for m in taken]

    def resend(self, message: HeldMessage) -> None:
        original = message.handle
        copy = ServiceBusMessage(
            message.body,
            message_id=f"{original.message_id}.replay-{uuid.uuid4().hex[:8]}",
            subject=original.subject,
            content_type=original.content_type,
            correlation_id=original.correlation_id,
            application_properties={
                _text(k): _text(v) for k, v in (original.application_properties or {}).items()
            },
        )
        with _bus_errors(self.source):
            self._sender.send_messages(copy)

    def delete(self, message: HeldMessage) -> None:
        with _bus_errors(self.name):
            self._receiver.complete_message(message.handle)

    def release(self, message: HeldMessage) -> None:
        with _bus_errors(self.name):
            self._receiver.abandon_message(message.handle)
