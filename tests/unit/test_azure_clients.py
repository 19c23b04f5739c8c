"""Adapters built from identity-based settings get SDK clients on the right URL and credential.

Construction only (no request is sent, so no Azure account is needed; Azurite
cannot issue Entra ID tokens). The connection-string path is exercised against
real Azurite by the adapters' integration tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.servicebus import ServiceBusClient
from azure.storage.blob import BlobServiceClient
from pydantic import SecretStr

import edgeloop.adapters.azure_clients as azure_clients
from edgeloop.adapters.azure_clients import AzureClients, credential_for
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.queue_publisher import QueueEventPublisher
from edgeloop.adapters.servicebus_publisher import ServiceBusEventPublisher
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.bootstrap.cloud import build_ingest
from edgeloop.bootstrap.edge import build_insight_filter
from edgeloop.bootstrap.powerbi import build_feed
from edgeloop.config.cloud import CloudSettings
from edgeloop.config.connections import (
    Connection,
    ConnectionSettingError,
    ConnectionString,
    IdentityConnection,
)
from edgeloop.config.development_storage import connection_string
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.config.powerbi import PowerBISettings

BLOB = "https://acct.blob.core.windows.net"
QUEUE = "https://acct.queue.core.windows.net"
NAMESPACE = "ns.servicebus.windows.net"
CLIENT_ID = "0b5f0c1e-0000-4000-8000-000000000001"


def blob_identity(**options: Any) -> IdentityConnection:
    return IdentityConnection("CloudStorage", "blob", BLOB, **options)


def test_default_credential_unless_a_managed_identity_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(credential_for(blob_identity()), DefaultAzureCredential)
    made: list[str | None] = []

    def recording(*, client_id: str | None = None) -> ManagedIdentityCredential:
        made.append(client_id)
        return ManagedIdentityCredential(client_id=client_id)

    monkeypatch.setattr(azure_clients, "ManagedIdentityCredential", recording)
    credential = credential_for(blob_identity(managed_identity=True, client_id=CLIENT_ID))
    assert isinstance(credential, ManagedIdentityCredential)
    credential_for(blob_identity(managed_identity=True))
    assert made == [CLIENT_ID, None]  # user-assigned, then the system-assigned identity


def test_one_credential_per_identity_shared_by_the_clients() -> None:
    clients = AzureClients()
    blob = clients.blob_service(blob_identity())
    queue = clients.queue(IdentityConnection("EdgeStorage", "queue", QUEUE), "insights")
    assert blob.credential is queue.credential
    assert isinstance(blob.credential, DefaultAzureCredential)
    user_assigned = clients.blob_service(blob_identity(managed_identity=True, client_id=CLIENT_ID))
    assert isinstance(user_assigned.credential, ManagedIdentityCredential)  # another identity, its own


def test_blob_store_from_identity() -> None:
    store = AzureBlobStore.from_connection(blob_identity())
    service = store._service
    assert service.url == BLOB + "/"
    assert service.account_name == "acct"
    assert isinstance(service.credential, DefaultAzureCredential)


def test_queue_sender_and_publisher_from_identity() -> None:
    connection = IdentityConnection("EdgeStorage", "queue", QUEUE, managed_identity=True)
    with StorageQueueSender(connection, "insights") as sender:
        assert sender._client.url == QUEUE + "/insights"
        assert isinstance(sender._client.credential, ManagedIdentityCredential)
    publisher = QueueEventPublisher.from_connection(connection, "insights", ["global", "powerbi"])
    assert [queue.url for queue in publisher._queues] == [
        QUEUE + "/insights-global",
        QUEUE + "/insights-powerbi",
    ]


def test_service_bus_publisher_from_identity() -> None:
    connection = IdentityConnection("ServiceBusConnection", "servicebus", NAMESPACE)
    publisher = ServiceBusEventPublisher.from_connection(connection, "insights")
    try:
        client = publisher._client
        assert isinstance(client, ServiceBusClient)
        assert client.fully_qualified_namespace == NAMESPACE
        assert isinstance(client._credential, DefaultAzureCredential)
    finally:
        publisher.close()


def test_a_connection_string_still_goes_to_from_connection_string() -> None:
    text = connection_string("cloud", "127.0.0.1", 10000, 10001, 10002)
    store = AzureBlobStore.from_connection(ConnectionString("CloudStorage", SecretStr(text)))
    assert store._service.url == "http://127.0.0.1:10000/cloud/"
    assert store._service.account_name == "cloud"
    with StorageQueueSender(text, "insights") as sender:  # the plain string form stays
        assert sender._client.url == "http://127.0.0.1:10001/cloud/insights"


def test_a_connection_resolved_for_another_service_is_refused() -> None:
    with pytest.raises(ValueError, match="CloudStorage: resolved for blob"):
        AzureClients().queue(blob_identity(), "insights")


class RecordingClients(AzureClients):
    """The real factory, recording what each root builds and every credential it makes."""

    def __init__(self) -> None:
        super().__init__(make_credential=self._make)
        self.blob_services: list[BlobServiceClient] = []
        self.service_buses: list[ServiceBusClient] = []
        self.credentials_made: list[TokenCredential] = []

    def _make(self, connection: IdentityConnection) -> TokenCredential:
        credential = credential_for(connection)
        self.credentials_made.append(credential)
        return credential

    def blob_service(self, connection: Connection, **options: Any) -> BlobServiceClient:
        self.blob_services.append(super().blob_service(connection, **options))
        return self.blob_services[-1]

    def service_bus(self, connection: Connection, **options: Any) -> ServiceBusClient:
        self.service_buses.append(super().service_bus(connection, **options))
        return self.service_buses[-1]


@pytest.fixture
def no_local_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    for name in ("EdgeStorage", "CloudStorage", "ServiceBusConnection"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_local_settings")
def test_edge_root_from_identity_settings() -> None:
    values: dict[str, Any] = {  # by setting name, as the environment gives them
        "EdgeStorage__blobServiceUri": "https://site.blob.azurestack.example",
        "CloudStorage__blobServiceUri": BLOB,
        "ServiceBusConnection__fullyQualifiedNamespace": NAMESPACE,
        "EDGELOOP_SITE_HMAC_KEY": "unit-test-key-not-a-secret",
    }
    settings = EdgeFunctionSettings(**values)
    clients = RecordingClients()
    build_insight_filter(settings, clients)
    assert sorted(client.url for client in clients.blob_services) == [
        BLOB + "/",
        "https://site.blob.azurestack.example/",
    ]
    (bus,) = clients.service_buses
    try:
        assert bus.fully_qualified_namespace == NAMESPACE
        # One credential for the three connections: they use the same identity.
        assert len(clients.credentials_made) == 1
        assert isinstance(clients.credentials_made[0], DefaultAzureCredential)
    finally:
        bus.close()


@pytest.mark.usefixtures("no_local_settings")
def test_cloud_roots_from_identity_settings(tmp_path: Path) -> None:
    identity: dict[str, Any] = {
        "CloudStorage__blobServiceUri": BLOB,
        "CloudStorage__credential": "managedidentity",
    }
    clients = RecordingClients()
    build_ingest(CloudSettings(**identity, CLOUD_SQLITE_PATH=tmp_path / "global.sqlite3"), clients)
    settings = PowerBISettings(
        **identity, sink_dir=tmp_path / "sink", ledger_path=tmp_path / "ledger.sqlite3"
    )
    build_feed(settings, clients=clients)
    assert [client.url for client in clients.blob_services] == [BLOB + "/", BLOB + "/"]
    assert all(isinstance(c.credential, ManagedIdentityCredential) for c in clients.blob_services)


@pytest.mark.usefixtures("no_local_settings")
def test_cloud_root_without_a_connection_fails_naming_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("CloudStorage__blobServiceUri", "CloudStorage__serviceUri"):
        monkeypatch.delenv(name, raising=False)
    settings = CloudSettings(CLOUD_SQLITE_PATH=tmp_path / "global.sqlite3")
    with pytest.raises(ConnectionSettingError, match="CloudStorage or CloudStorage__blobServiceUri"):
        build_ingest(settings)
