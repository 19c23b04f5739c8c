"""ServiceBusEventPublisher builds real ServiceBusMessage objects.

No Service Bus emulator exists (and none can run here), so the sender is a
recording fake standing in for ``ServiceBusSender``; the live test talks to a
real namespace when SERVICEBUS_CONNECTION_STRING is set.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from edgeloop.adapters.servicebus_publisher import ServiceBusEventPublisher
from edgeloop.bootstrap.edge import connection_kind
from edgeloop.ports import BlobWrittenEvent


class RecordingSender:
    def __init__(self) -> None:
        self.calls: list[list[ServiceBusMessage]] = []
        self.closed = False

    def send_messages(self, message: list[ServiceBusMessage]) -> None:
        self.calls.append(list(message))

    def close(self) -> None:
        self.closed = True


def event(name: str, subject: str = "compliant") -> BlobWrittenEvent:
    return BlobWrittenEvent(
        message_id=f"{subject}/{name}",
        subject=subject,
        blob_url=f"http://cloud.example/{subject}/{name}",
        container=subject,
        blob_name=name,
        site_id="site-a",
        record_count=3,
        insight_count=2,
        feedback_count=1,
    )


def test_each_event_becomes_one_message_with_id_subject_and_properties_in_one_send() -> None:
    sender = RecordingSender()
    publisher = ServiceBusEventPublisher(sender)
    events = [event("site=site-a/date=2026-11-21/hour=08/abc.jsonl.gz"), event("x.jsonl.gz", "anomalies")]

    publisher.publish(events)

    assert len(sender.calls) == 1
    first, second = sender.calls[0]
    assert isinstance(first, ServiceBusMessage)
    assert first.message_id == "compliant/site=site-a/date=2026-11-21/hour=08/abc.jsonl.gz"
    assert first.subject == "compliant"
    assert first.content_type == "application/json"
    assert first.application_properties == {
        "site_id": "site-a",
        "container": "compliant",
        "record_count": 3,
        "insight_count": 2,
        "feedback_count": 1,
    }
    assert BlobWrittenEvent(**json.loads(b"".join(first.body))) == events[0]
    assert (second.message_id, second.subject) == ("anomalies/x.jsonl.gz", "anomalies")


def test_nothing_is_sent_for_no_events_and_close_closes_the_sender() -> None:
    sender = RecordingSender()
    publisher = ServiceBusEventPublisher(sender)
    publisher.publish([])
    publisher.close()
    assert sender.calls == []
    assert sender.closed


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=x", "servicebus"),
        (
            "DefaultEndpointsProtocol=http;AccountName=cloud;AccountKey=a2V5;QueueEndpoint=http://h/cloud;",
            "storage",
        ),
        ("UseDevelopmentStorage=true", "storage"),
    ],
)
def test_the_publisher_is_chosen_by_the_connection_value(value: str, kind: str) -> None:
    assert connection_kind(value) == kind


def test_a_connection_value_of_neither_kind_is_an_error_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="ServiceBusConnection"):
        connection_kind("https://example.com")


@pytest.mark.live
@pytest.mark.skipif(
    not os.environ.get("SERVICEBUS_CONNECTION_STRING"),
    reason="live Service Bus test: set SERVICEBUS_CONNECTION_STRING (no Service Bus emulator exists)",
)
def test_live_publish_reaches_the_topic_subscription() -> None:
    connection = os.environ["SERVICEBUS_CONNECTION_STRING"]
    topic = os.environ.get("SERVICEBUS_TOPIC", "insights")
    subscription = os.environ.get("SERVICEBUS_SUBSCRIPTION", "global")
    sent = event(f"live-{uuid.uuid4().hex}.jsonl.gz")
    publisher = ServiceBusEventPublisher.from_connection_string(connection, topic)
    try:
        publisher.publish([sent])
    finally:
        publisher.close()
    with (
        ServiceBusClient.from_connection_string(connection) as client,
        client.get_subscription_receiver(topic, subscription, max_wait_time=30) as receiver,
    ):
        received = {}
        for count, message in enumerate(receiver):  # ends after max_wait_time without messages
            if message.message_id == sent.message_id:
                receiver.complete_message(message)  # others' messages are left alone (lock expires)
                received[message.message_id] = message
                break
            if count >= 1000:
                break
    assert received[sent.message_id].subject == "compliant"
