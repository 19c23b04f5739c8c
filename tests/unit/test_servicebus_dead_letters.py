"""The Service Bus dead-letter adapter and the ops use case's failure path.

No Service Bus emulator runs here (Azure's needs SQL Server in a container): the receiver and
sender are recording stand-ins with the azure-servicebus methods the adapter calls, holding real
``ServiceBusMessage`` bodies. The Storage queue and quarantine adapters are tested on Azurite
(tests/integration/test_operations_cli.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.servicebus import ServiceBusMessage
from azure.servicebus.exceptions import ServiceBusConnectionError

from edgeloop.adapters.servicebus_dead_letters import ServiceBusDeadLetters
from edgeloop.domain.held_messages import HeldMessageError
from edgeloop.service_layer.operations import HeldMessageOperations, HoldingPlace


@dataclass
class DeadLetter:
    sequence_number: int
    message_id: str
    body_bytes: bytes
    dead_letter_reason: str = "MaxDeliveryCountExceeded"
    delivery_count: int = 10
    enqueued_time_utc: datetime = datetime(2026, 11, 21, 8, tzinfo=UTC)
    subject: str = "compliant"
    content_type: str = "application/json"
    correlation_id: str | None = None
    application_properties: dict[bytes, Any] = field(default_factory=lambda: {b"site_id": b"s1"})

    @property
    def body(self) -> list[bytes]:
        return [self.body_bytes]


class Receiver:
    def __init__(self, messages: list[DeadLetter]) -> None:
        self.messages = messages
        self.locked: list[DeadLetter] = []
        self.completed: list[int] = []
        self.abandoned: list[int] = []

    def peek_messages(self, max_message_count: int = 1) -> list[Any]:
        return self.messages[:max_message_count]

    def receive_messages(
        self, max_message_count: int | None = 1, max_wait_time: float | None = None
    ) -> list[Any]:
        free = [m for m in self.messages if m not in self.locked][: max_message_count or 1]
        self.locked.extend(free)
        return free

    def complete_message(self, message: Any) -> None:
        self.completed.append(message.sequence_number)
        self.messages.remove(message)
        self.locked.remove(message)

    def abandon_message(self, message: Any) -> None:
        self.abandoned.append(message.sequence_number)
        self.locked.remove(message)


class Sender:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[ServiceBusMessage] = []
        self.fail = fail

    def send_messages(self, message: ServiceBusMessage) -> None:
        if self.fail:
            raise ServiceBusConnectionError(message="namespace unreachable")
        self.sent.append(message)


class Audit:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(
        self, container: str, name: str, data: bytes, *, content_type: str, overwrite: bool = True
    ) -> str:
        self.blobs[f"{container}/{name}"] = data
        return name

    def get(self, container: str, name: str) -> bytes:
        return self.blobs[f"{container}/{name}"]


def letters() -> list[DeadLetter]:
    return [DeadLetter(n, f"evt-{n}", b'{"blob_name": "b%d"}' % n) for n in range(1, 4)]


def test_replay_sends_a_copy_under_a_new_id_then_completes_and_leaves_the_rest() -> None:
    receiver, sender = Receiver(letters()), Sender()
    place = ServiceBusDeadLetters(receiver, sender, "insights", "global")
    assert (place.name, place.source) == ("insights-global-deadletter", "insights")
    listed = place.peek(10)
    assert [m.message_id for m in listed] == ["1", "2", "3"]
    assert (listed[0].reason, listed[0].delivery_count) == ("MaxDeliveryCountExceeded", 10)

    operations = HeldMessageOperations({place.name: HoldingPlace(place, Audit())})
    outcome = operations.replay(place.name, ["2", "9"], limit=10, actor="ann")
    assert (outcome.done, outcome.missing) == (["2"], ["9"])
    (copy,) = sender.sent
    assert b"".join(copy.body) == b'{"blob_name": "b2"}'
    # Not the original id: the topic's duplicate detection would drop it.
    assert str(copy.message_id).startswith("evt-2.replay-")
    assert copy.subject == "compliant"
    assert copy.application_properties == {"site_id": "s1"}
    assert receiver.completed == [2]
    assert sorted(receiver.abandoned) == [1, 3]  # received on the way, given back unchanged
    assert [m.sequence_number for m in receiver.messages] == [1, 3]


def test_a_failed_resend_releases_the_message_and_still_writes_the_audit() -> None:
    receiver, audit = Receiver(letters()), Audit()
    place = ServiceBusDeadLetters(receiver, Sender(fail=True), "insights", "powerbi")
    operations = HeldMessageOperations({place.name: HoldingPlace(place, audit)})
    with pytest.raises(HeldMessageError, match="namespace unreachable"):
        operations.replay(place.name, None, limit=1, actor="ann")
    assert receiver.completed == []
    assert 1 in receiver.abandoned
    assert len(receiver.messages) == 3
    (document,) = audit.blobs.values()
    assert b'"error": "HeldMessageError' in document
    assert b'"done": []' in document
