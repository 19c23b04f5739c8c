"""Connection resolution (edgeloop.config.connections): the Azure Functions host's rules.

Pure settings parsing, no network: the values come as the environment or
local.settings.json would give them, through the real settings classes where it matters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgeloop.config.cloud import CloudSettings
from edgeloop.config.connections import (
    ConnectionSettingError,
    ConnectionString,
    IdentityConnection,
    resolve_connection,
)
from edgeloop.config.development_storage import LOCAL_ACCOUNT_KEYS
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.config.powerbi import PowerBISettings
from edgeloop.config.scoring import ScoringSettings

BLOB = "https://acct.blob.core.windows.net"
QUEUE = "https://acct.queue.core.windows.net"
AZURE_STRING = (
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net"
)
CONNECTION_NAMES = ("EdgeStorage", "CloudStorage", "ServiceBusConnection")
SUFFIXES = ("", "__serviceUri", "__blobServiceUri", "__queueServiceUri", "__fullyQualifiedNamespace")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No connection setting in the environment, and a local.settings.json of our own (absent)."""
    for name in CONNECTION_NAMES:
        for suffix in (*SUFFIXES, "__credential", "__clientId"):
            monkeypatch.delenv(name + suffix, raising=False)
    settings_file = tmp_path / "local.settings.json"
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(settings_file))
    return settings_file


def test_a_connection_string_is_used_as_given_and_kept_secret() -> None:
    connection = resolve_connection("CloudStorage", {"CloudStorage": f"  {AZURE_STRING} "}, "blob")
    assert isinstance(connection, ConnectionString)
    assert connection.secret() == AZURE_STRING
    assert "a2V5" not in repr(connection)


def test_development_storage_is_the_local_azurite_account_the_connection_stands_for() -> None:
    connection = resolve_connection(
        "EdgeStorage", {"EdgeStorage": "UseDevelopmentStorage=true"}, "queue", local_account="edge"
    )
    assert isinstance(connection, ConnectionString)
    assert "AccountName=edge;" in connection.secret()
    assert LOCAL_ACCOUNT_KEYS["edge"] in connection.secret()
    assert "QueueEndpoint=http://127.0.0.1:10001/edge;" in connection.secret()
    # Without an account to stand for, the SDK's own meaning is kept.
    passed = resolve_connection("X", {"X": "UseDevelopmentStorage=true"}, "blob")
    assert isinstance(passed, ConnectionString)
    assert passed.secret() == "UseDevelopmentStorage=true"


@pytest.mark.parametrize(
    ("service", "values", "endpoint"),
    [
        ("blob", {"CloudStorage__blobServiceUri": BLOB + "/"}, BLOB),
        ("queue", {"CloudStorage__queueServiceUri": QUEUE}, QUEUE),
        ("blob", {"CloudStorage__serviceUri": BLOB}, BLOB),
        ("queue", {"CloudStorage__serviceUri": QUEUE}, QUEUE),
        # The service's own URI wins over the generic one.
        ("blob", {"CloudStorage__serviceUri": QUEUE, "CloudStorage__blobServiceUri": BLOB}, BLOB),
        ("queue", {"CloudStorage__blobServiceUri": BLOB, "CloudStorage__queueServiceUri": QUEUE}, QUEUE),
    ],
)
def test_identity_based_storage_uses_the_service_uri(
    service: str, values: dict[str, str | None], endpoint: str
) -> None:
    connection = resolve_connection("CloudStorage", values, service)  # type: ignore[arg-type]
    assert connection == IdentityConnection("CloudStorage", service, endpoint)  # type: ignore[arg-type]


def test_the_connection_string_wins_over_identity_settings() -> None:
    values = {"CloudStorage": AZURE_STRING, "CloudStorage__blobServiceUri": BLOB}
    assert isinstance(resolve_connection("CloudStorage", values, "blob"), ConnectionString)


def test_a_blank_setting_counts_as_unset() -> None:
    values = {"CloudStorage": "  ", "CloudStorage__blobServiceUri": BLOB}
    assert isinstance(resolve_connection("CloudStorage", values, "blob"), IdentityConnection)


@pytest.mark.parametrize(
    "value",
    ["ns.servicebus.windows.net", "sb://ns.servicebus.windows.net/", "https://ns.servicebus.windows.net"],
)
def test_service_bus_by_namespace(value: str) -> None:
    values = {"ServiceBusConnection__fullyQualifiedNamespace": value}
    connection = resolve_connection("ServiceBusConnection", values, "servicebus")
    assert connection == IdentityConnection("ServiceBusConnection", "servicebus", "ns.servicebus.windows.net")


def test_a_user_assigned_managed_identity() -> None:
    values = {
        "CloudStorage__blobServiceUri": BLOB,
        "CloudStorage__credential": "ManagedIdentity",
        "CloudStorage__clientId": "0b5f0c1e-0000-4000-8000-000000000001",
    }
    connection = resolve_connection("CloudStorage", values, "blob")
    assert isinstance(connection, IdentityConnection)
    assert connection.managed_identity
    assert connection.client_id == "0b5f0c1e-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("values", "service", "named"),
    [
        ({}, "blob", ["CloudStorage", "CloudStorage__blobServiceUri", "CloudStorage__serviceUri"]),
        ({}, "queue", ["CloudStorage", "CloudStorage__queueServiceUri", "CloudStorage__serviceUri"]),
        # A queue URI does not configure blob access, nor blob a queue.
        ({"CloudStorage__queueServiceUri": QUEUE}, "blob", ["CloudStorage__blobServiceUri"]),
        ({"CloudStorage__blobServiceUri": "http://acct.blob.core.windows.net"}, "blob", ["https://"]),
        ({"CloudStorage__blobServiceUri": "acct.blob.core.windows.net"}, "blob", ["https://"]),
        (
            {"CloudStorage__blobServiceUri": BLOB, "CloudStorage__credential": "secret"},
            "blob",
            ["__credential"],
        ),
        (
            {"CloudStorage__blobServiceUri": BLOB, "CloudStorage__clientId": "abc"},
            "blob",
            ["CloudStorage__clientId", "CloudStorage__credential=managedidentity"],
        ),
    ],
)
def test_missing_or_malformed_connections_name_the_settings(
    values: dict[str, str | None], service: str, named: list[str]
) -> None:
    with pytest.raises(ConnectionSettingError) as caught:
        resolve_connection("CloudStorage", values, service)  # type: ignore[arg-type]
    assert caught.value.connection == "CloudStorage"
    for text in named:
        assert text in str(caught.value)


def test_a_service_bus_namespace_that_is_not_a_host_name_is_refused() -> None:
    values = {"ServiceBusConnection__fullyQualifiedNamespace": "Endpoint=sb://ns/;SharedAccessKey=x"}
    with pytest.raises(ConnectionSettingError, match="ServiceBusConnection__fullyQualifiedNamespace"):
        resolve_connection("ServiceBusConnection", values, "servicebus")
    with pytest.raises(ConnectionSettingError, match="ServiceBusConnection__fullyQualifiedNamespace"):
        resolve_connection("ServiceBusConnection", {}, "servicebus")


@pytest.mark.usefixtures("clean_environment")
def test_no_settings_class_falls_back_to_azurite() -> None:
    resolvers: list[Callable[[], object]] = [
        lambda: CloudSettings().resolve_cloud_storage("blob"),
        lambda: PowerBISettings().resolve_cloud_storage("blob"),
        lambda: ScoringSettings().resolve_edge_storage("queue"),
        lambda: EdgeFunctionSettings().resolve_edge_storage("blob"),
        lambda: EdgeFunctionSettings().resolve_service_bus(),
    ]
    for resolve in resolvers:
        with pytest.raises(ConnectionSettingError, match="not configured"):
            resolve()


def test_settings_classes_read_identity_settings_from_the_environment(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As main.bicep sets them; PowerBISettings reads them without its POWERBI_ prefix.
    monkeypatch.setenv("CloudStorage__blobServiceUri", BLOB)
    monkeypatch.setenv("ServiceBusConnection__fullyQualifiedNamespace", "ns.servicebus.windows.net")
    expected = IdentityConnection("CloudStorage", "blob", BLOB)
    assert CloudSettings().resolve_cloud_storage("blob") == expected
    assert PowerBISettings().resolve_cloud_storage("blob") == expected
    edge = EdgeFunctionSettings()
    assert edge.resolve_cloud_storage("blob") == expected
    assert edge.resolve_service_bus() == IdentityConnection(
        "ServiceBusConnection", "servicebus", "ns.servicebus.windows.net"
    )


def test_settings_classes_read_identity_settings_from_local_settings_json(clean_environment: Path) -> None:
    values = {"EdgeStorage__queueServiceUri": QUEUE, "EdgeStorage__credential": "managedidentity"}
    clean_environment.write_text(json.dumps({"Values": values}), encoding="utf-8")
    connection = ScoringSettings().resolve_edge_storage("queue")
    assert connection == IdentityConnection("EdgeStorage", "queue", QUEUE, managed_identity=True)


@pytest.mark.usefixtures("clean_environment")
def test_settings_classes_take_connections_by_setting_name() -> None:
    values: dict[str, Any] = {"EdgeStorage": "UseDevelopmentStorage=true"}
    settings = EdgeFunctionSettings(**values)
    connection = settings.resolve_edge_storage("blob")
    assert isinstance(connection, ConnectionString)
    assert "BlobEndpoint=http://127.0.0.1:10000/edge;" in connection.secret()
