"""The EventPublisher port on Storage Queues: the local stand-in for the ``insights`` topic.

Each subscription is a queue ``<topic>-<subscription>`` (``insights-global``,
``insights-powerbi``) on the account ServiceBusConnection names; every event is
written to each of them in the Service Bus envelope the local Functions host
reads (docs/functions-host.md), so topic-triggered functions run unchanged.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.servicebus_publisher import CONTENT_TYPE, event_body, event_properties
from edgeloop.config.connections import Connection, ConnectionSettingError
from edgeloop.config.site_access import TOPIC_SETTING, queue_name_of
from edgeloop.ports import BlobWrittenEvent
from edgeloop.wire.messaging import subscription_queue
from edgeloop.wire.servicebus_envelope import Envelope, encode_envelope


class QueueEventPublisher:
    def __init__(self, queues: Sequence[QueueClient], *, create_queues: bool = True) -> None:
        self._queues = list(queues)
        # False: an add-only SAS per queue (a site) cannot create one; localdev creates them.
        self._created = not create_queues
        self._lock = threading.Lock()

    @classmethod
    def from_connection_string(
        cls, connection_string: str, topic: str, subscriptions: Sequence[str]
    ) -> QueueEventPublisher:
        # No encode policy: the envelope text is already base64, as the host expects.
        return cls(
            [
                QueueClient.from_connection_string(connection_string, subscription_queue(topic, name))
                for name in subscriptions
            ]
        )

    @classmethod
    def from_connection(
        cls,
        connection: Connection,
        topic: str,
        subscriptions: Sequence[str],
        clients: AzureClients | None = None,
    ) -> QueueEventPublisher:
        """A connection string or an identity-based queue connection (edgeloop.config.connections)."""
        clients = clients or AzureClients()
        return cls([clients.queue(connection, subscription_queue(topic, name)) for name in subscriptions])

    @classmethod
    def from_queue_urls(
        cls,
        urls: Sequence[str],
        topic: str,
        subscriptions: Sequence[str],
        clients: AzureClients | None = None,
    ) -> QueueEventPublisher:
        """One add-only SAS URL per subscription queue (edgeloop.config.site_access), no other."""
        by_queue = {queue_name_of(url): url for url in urls}
        wanted = [subscription_queue(topic, name) for name in subscriptions]
        missing = [name for name in wanted if name not in by_queue]
        extra = sorted(set(by_queue) - set(wanted))
        if missing or extra:
            raise ConnectionSettingError(
                TOPIC_SETTING,
                "one SAS URL per subscription queue: "
                f"missing {missing or 'none'}, not a subscription's {extra or 'none'}",
            )
        clients = clients or AzureClients()
        return cls([clients.queue_from_url(by_queue[name]) for name in wanted], create_queues=False)

    def _ensure_queues(self) -> None:
        with self._lock:
            if self._created:
                return
            for queue in self._queues:
                with contextlib.suppress(ResourceExistsError):  # already there is fine
                    queue.create_queue()
            self._created = True

    def publish(self, events: Sequence[BlobWrittenEvent]) -> None:
        if not events:
            return
        self._ensure_queues()
        texts = [
            encode_envelope(
                Envelope(
                    message_id=event.message_id,
                    body=event_body(event),
                    subject=event.subject,
                    application_properties=dict(event_properties(event)),
                    content_type=CONTENT_TYPE,
                )
            )
            for event in events
        ]
        for queue in self._queues:
            for text in texts:
                queue.send_message(text)
