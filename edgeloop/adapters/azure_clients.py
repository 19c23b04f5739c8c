"""SDK clients from resolved connections (edgeloop.config.connections): keys or identity.

A connection string goes to the SDK's ``from_connection_string``; an identity-based
connection gets the client for its URL / namespace with a token credential. A
composition root makes one :class:`AzureClients` and builds every client through it,
so clients on the same identity share one credential (and its token cache).
Constructing clients and credentials does no network I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.servicebus import ServiceBusClient, TransportType
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from edgeloop.config.azure_sdk import AzureSdkOptions, ServiceBusTransport
from edgeloop.config.connections import Connection, ConnectionString, IdentityConnection

_TRANSPORTS = {"amqp": TransportType.Amqp, "websockets": TransportType.AmqpOverWebsocket}


def credential_for(connection: IdentityConnection) -> TokenCredential:
    """``ManagedIdentityCredential`` when the settings ask for it, else ``DefaultAzureCredential``."""
    if connection.managed_identity:
        return ManagedIdentityCredential(client_id=connection.client_id)
    return DefaultAzureCredential()


class AzureClients:
    def __init__(
        self,
        make_credential: Callable[[IdentityConnection], TokenCredential] = credential_for,
        *,
        storage_api_version: str | None = None,
        servicebus_transport: ServiceBusTransport = "amqp",
    ) -> None:
        self._make_credential = make_credential
        # Given to every Storage client (None: the SDK's default), so one setting governs all.
        self.storage_api_version = storage_api_version
        self.servicebus_transport = servicebus_transport
        self._credentials: dict[tuple[bool, str | None], TokenCredential] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, options: AzureSdkOptions) -> AzureClients:
        """Clients as ``STORAGE_API_VERSION`` and ``SERVICEBUS_TRANSPORT`` ask."""
        return cls(
            storage_api_version=options.storage_api_version,
            servicebus_transport=options.servicebus_transport,
        )

    def credential(self, connection: IdentityConnection) -> TokenCredential:
        key = (connection.managed_identity, connection.client_id)
        with self._lock:
            if key not in self._credentials:
                self._credentials[key] = self._make_credential(connection)
            return self._credentials[key]

    def blob_service(self, connection: Connection, **options: Any) -> BlobServiceClient:
        options = self._storage_options(options)
        if isinstance(connection, ConnectionString):
            return BlobServiceClient.from_connection_string(connection.secret(), **options)
        _expect(connection, "blob")
        return BlobServiceClient(connection.endpoint, credential=self.credential(connection), **options)

    def queue(self, connection: Connection, queue_name: str, **options: Any) -> QueueClient:
        options = self._storage_options(options)
        if isinstance(connection, ConnectionString):
            return QueueClient.from_connection_string(connection.secret(), queue_name, **options)
        _expect(connection, "queue")
        return QueueClient(connection.endpoint, queue_name, credential=self.credential(connection), **options)

    def queue_from_url(self, url: str, **options: Any) -> QueueClient:
        """A queue named by its URL, a SAS token in its query (a site's add-only SAS)."""
        return QueueClient.from_queue_url(url, **self._storage_options(options))

    def service_bus(self, connection: Connection, **options: Any) -> ServiceBusClient:
        options.setdefault("transport_type", _TRANSPORTS[self.servicebus_transport])
        if isinstance(connection, ConnectionString):
            return ServiceBusClient.from_connection_string(connection.secret(), **options)
        _expect(connection, "servicebus")
        return ServiceBusClient(connection.endpoint, credential=self.credential(connection), **options)

    def _storage_options(self, options: dict[str, Any]) -> dict[str, Any]:
        if self.storage_api_version is not None:
            options.setdefault("api_version", self.storage_api_version)
        return options


def _expect(connection: IdentityConnection, service: str) -> None:
    # A blob URL handed to a queue client would fail later, far from the setting that caused it.
    if connection.service != service:
        raise ValueError(
            f"{connection.name}: resolved for {connection.service}, cannot build a {service} client from it"
        )
