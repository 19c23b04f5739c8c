"""STORAGE_API_VERSION and SERVICEBUS_TRANSPORT reach the clients the composition roots build.

Construction only, no request is sent: the Storage version against a real, version-checking
Azurite is tests/integration/test_storage_api_version.py. Service Bus has no emulator here, so
the transport is checked on the built client's configuration (what the SDK connects with).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.servicebus import TransportType
from azure.storage.queue import QueueClient
from pydantic import SecretStr, ValidationError

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.servicebus_publisher import ServiceBusEventPublisher
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.config.azure_sdk import AzureSdkSettings
from edgeloop.config.connections import ConnectionString, IdentityConnection
from edgeloop.config.development_storage import connection_string
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.config.scoring import ScoringSettings

EDGE = connection_string("edge", "127.0.0.1", 10000, 10001, 10002)
NAMESPACE = IdentityConnection("ServiceBusConnection", "servicebus", "ns.servicebus.windows.net")
EDGE_SECRET = SecretStr(EDGE)
SB_SECRET = SecretStr(
    "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0"
)
DEFAULT_QUEUE_VERSION = QueueClient.from_connection_string(EDGE, "q").api_version


def test_defaults_leave_the_sdk_version_and_plain_amqp(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    monkeypatch.delenv("STORAGE_API_VERSION", raising=False)
    monkeypatch.delenv("SERVICEBUS_TRANSPORT", raising=False)
    settings = AzureSdkSettings()
    assert (settings.storage_api_version, settings.servicebus_transport) == (None, "amqp")
    queue = AzureClients.from_settings(settings).queue(ConnectionString("EdgeStorage", EDGE_SECRET), "q")
    assert queue.api_version == DEFAULT_QUEUE_VERSION


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_API_VERSION", "2019-07-07")
    monkeypatch.setenv("SERVICEBUS_TRANSPORT", "websockets")
    settings = EdgeFunctionSettings()
    assert (settings.storage_api_version, settings.servicebus_transport) == ("2019-07-07", "websockets")


@pytest.mark.parametrize(
    ("name", "value"), [("STORAGE_API_VERSION", "july 2019"), ("SERVICEBUS_TRANSPORT", "http")]
)
def test_a_bad_value_is_refused_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(ValidationError, match=name):
        AzureSdkSettings.model_validate({name: value})


def test_every_storage_client_gets_the_set_version() -> None:
    clients = AzureClients(storage_api_version="2019-07-07")
    connection = ConnectionString("EdgeStorage", EDGE_SECRET)
    assert clients.queue(connection, "q").api_version == "2019-07-07"
    assert clients.blob_service(connection).api_version == "2019-07-07"
    # A container client made from the service keeps the service's version.
    assert clients.blob_service(connection).get_container_client("c").api_version == "2019-07-07"


def test_the_scoring_relay_sends_its_plain_posts_at_the_set_version() -> None:
    settings = ScoringSettings.model_validate({"EdgeStorage": EDGE, "STORAGE_API_VERSION": "2019-07-07"})
    sender = StorageQueueSender(
        settings.resolve_edge_storage("queue"), "insights", clients=AzureClients.from_settings(settings)
    )
    assert sender.plain_http
    assert sender._poster is not None
    assert sender._poster._headers["x-ms-version"] == "2019-07-07"


@pytest.mark.parametrize(
    ("transport", "expected"),
    [("amqp", TransportType.Amqp), ("websockets", TransportType.AmqpOverWebsocket)],
)
def test_service_bus_clients_use_the_set_transport(transport: str, expected: TransportType) -> None:
    settings = AzureSdkSettings.model_validate({"SERVICEBUS_TRANSPORT": transport})
    clients = AzureClients.from_settings(settings)
    for connection in (NAMESPACE, ConnectionString("ServiceBusConnection", SB_SECRET)):
        client = clients.service_bus(connection)
        assert client._config.transport_type == expected
    publisher = ServiceBusEventPublisher.from_connection(NAMESPACE, "insights", clients)
    assert publisher._client is not None
    assert publisher._client._config.transport_type == expected
