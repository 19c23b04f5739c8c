"""Connections by name, resolved the way the Azure Functions host resolves a trigger's ``connection``.

For a connection ``NAME`` (``EdgeStorage``, ``CloudStorage``, ``ServiceBusConnection``):

1. the setting ``NAME`` is a connection string; ``UseDevelopmentStorage=true`` there means
   the local Azurite on its standard ports, as the account the connection stands for
   (``edge`` or ``cloud``: our Azurite serves those, not ``devstoreaccount1``);
2. else identity-based: ``NAME__blobServiceUri`` / ``NAME__queueServiceUri`` (either falls
   back to ``NAME__serviceUri``) for storage, ``NAME__fullyQualifiedNamespace`` for Service
   Bus; ``NAME__credential=managedidentity`` (optionally ``NAME__clientId``, a user-assigned
   identity) selects the managed identity, otherwise ``DefaultAzureCredential`` is used;
3. else :class:`ConnectionSettingError` naming every setting looked for. There is no silent
   default: an unset connection in Azure must stop the start-up, not reach for 127.0.0.1.

Pure settings parsing: the SDK clients are built by ``edgeloop.adapters.azure_clients``.
The ``*Connection`` mixins below declare the settings fields, so pydantic-settings reads
them (environment, then local.settings.json) and infra checks can see every name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr

from edgeloop.config.development_storage import connection_string

Service = Literal["blob", "queue", "servicebus"]

# Identity settings per service, in the order the host prefers them.
IDENTITY_SUFFIXES: dict[Service, tuple[str, ...]] = {
    "blob": ("blobServiceUri", "serviceUri"),
    "queue": ("queueServiceUri", "serviceUri"),
    "servicebus": ("fullyQualifiedNamespace",),
}
MANAGED_IDENTITY = "managedidentity"
_DEVELOPMENT_STORAGE = "usedevelopmentstorage=true"
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+")


class ConnectionSettingError(ValueError):
    """A connection is missing or malformed; the message names the settings involved."""

    def __init__(self, connection: str, message: str) -> None:
        super().__init__(f"{connection}: {message}")
        self.connection = connection


@dataclass(frozen=True)
class ConnectionString:
    """``NAME`` was set: a connection string (kept secret in reprs and logs)."""

    name: str
    value: SecretStr

    def secret(self) -> str:
        return self.value.get_secret_value()


@dataclass(frozen=True)
class IdentityConnection:
    """``NAME__...`` was set: an endpoint reached with a token credential (no keys)."""

    name: str
    service: Service
    # The account's service URL (https://acct.blob.core.windows.net) or the Service Bus
    # namespace host name (ns.servicebus.windows.net).
    endpoint: str
    # True: ManagedIdentityCredential (``client_id`` = a user-assigned identity, None = the
    # system-assigned one); False: DefaultAzureCredential (environment, workload identity, CLI...).
    managed_identity: bool = False
    client_id: str | None = None


Connection = ConnectionString | IdentityConnection


def _given(values: Mapping[str, str | None], name: str) -> str | None:
    value = values.get(name)
    if value is None or not value.strip():
        return None  # an empty setting (a blank Kubernetes env entry) counts as not set
    return value.strip()


def _is_development_storage(value: str) -> bool:
    return value.replace(" ", "").lower().rstrip(";") == _DEVELOPMENT_STORAGE


def _service_url(name: str, setting: str, value: str) -> str:
    parts = urlsplit(value)
    # Bearer tokens are only ever sent over TLS (azure-core refuses plain http with a token).
    if parts.scheme != "https" or not parts.hostname:
        raise ConnectionSettingError(name, f"{setting} must be an https:// URL, got {value!r}")
    return value.rstrip("/")


def _namespace(name: str, setting: str, value: str) -> str:
    host = re.sub(r"^(sb|https)://", "", value).rstrip("/")
    if not _HOST_NAME.fullmatch(host):
        raise ConnectionSettingError(
            name,
            f"{setting} must be the namespace's host name (<ns>.servicebus.windows.net), got {value!r}",
        )
    return host


def _identity(
    name: str, service: Service, setting: str, endpoint: str, values: Mapping[str, str | None]
) -> IdentityConnection:
    credential = _given(values, f"{name}__credential")
    client_id = _given(values, f"{name}__clientId")
    if credential is not None and credential.lower() != MANAGED_IDENTITY:
        raise ConnectionSettingError(
            name, f"{name}__credential must be {MANAGED_IDENTITY!r} or unset, got {credential!r}"
        )
    managed = credential is not None
    if client_id is not None and not managed:
        raise ConnectionSettingError(
            name,
            f"{name}__clientId names a user-assigned identity: set {name}__credential={MANAGED_IDENTITY} too",
        )
    resolved = (
        _namespace(name, setting, endpoint)
        if service == "servicebus"
        else _service_url(name, setting, endpoint)
    )
    return IdentityConnection(name, service, resolved, managed_identity=managed, client_id=client_id)


def looked_for(name: str, service: Service) -> list[str]:
    """The settings that can configure ``name`` for ``service``, in precedence order."""
    return [name, *(f"{name}__{suffix}" for suffix in IDENTITY_SUFFIXES[service])]


def resolve_connection(
    name: str, values: Mapping[str, str | None], service: Service, *, local_account: str | None = None
) -> Connection:
    """Resolve connection ``name`` for ``service`` from setting values keyed by setting name.

    ``local_account``: the Azurite account ``UseDevelopmentStorage=true`` stands for; None
    passes that value on to the SDK unchanged.
    """
    value = _given(values, name)
    if value is not None:
        if local_account is not None and _is_development_storage(value):
            value = connection_string(local_account, "127.0.0.1", 10000, 10001, 10002)
        return ConnectionString(name, SecretStr(value))
    for setting in looked_for(name, service)[1:]:
        endpoint = _given(values, setting)
        if endpoint is not None:
            return _identity(name, service, setting, endpoint, values)
    raise ConnectionSettingError(
        name,
        "not configured; set "
        + " or ".join(looked_for(name, service))
        + f" (a connection string, or identity-based with optional {name}__credential / {name}__clientId)",
    )


def connection_values(settings: BaseModel, name: str) -> dict[str, str | None]:
    """The values of the fields whose alias is ``name`` or ``name__*``, keyed by that alias."""
    found: dict[str, str | None] = {}
    for field_name, field in type(settings).model_fields.items():
        alias = field.alias
        if alias is None or not (alias == name or alias.startswith(name + "__")):
            continue
        value = getattr(settings, field_name)
        found[alias] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return found


# Settings fields per connection: mixed into the settings classes that use the connection.


class EdgeStorageConnection(BaseModel):
    """``EdgeStorage``: the site's storage account (insights queue, quarantine, audit)."""

    edge_storage: SecretStr | None = Field(default=None, alias="EdgeStorage")
    edge_storage_service_uri: str | None = Field(default=None, alias="EdgeStorage__serviceUri")
    edge_storage_blob_service_uri: str | None = Field(default=None, alias="EdgeStorage__blobServiceUri")
    edge_storage_queue_service_uri: str | None = Field(default=None, alias="EdgeStorage__queueServiceUri")
    edge_storage_credential: str | None = Field(default=None, alias="EdgeStorage__credential")
    edge_storage_client_id: str | None = Field(default=None, alias="EdgeStorage__clientId")

    def resolve_edge_storage(self, service: Literal["blob", "queue"]) -> Connection:
        values = connection_values(self, "EdgeStorage")
        return resolve_connection("EdgeStorage", values, service, local_account="edge")


class CloudStorageConnection(BaseModel):
    """``CloudStorage``: the cloud's data account (``compliant``, ``anomalies``, ``models``)."""

    cloud_storage: SecretStr | None = Field(default=None, alias="CloudStorage")
    cloud_storage_service_uri: str | None = Field(default=None, alias="CloudStorage__serviceUri")
    cloud_storage_blob_service_uri: str | None = Field(default=None, alias="CloudStorage__blobServiceUri")
    cloud_storage_queue_service_uri: str | None = Field(default=None, alias="CloudStorage__queueServiceUri")
    cloud_storage_credential: str | None = Field(default=None, alias="CloudStorage__credential")
    cloud_storage_client_id: str | None = Field(default=None, alias="CloudStorage__clientId")

    def resolve_cloud_storage(self, service: Literal["blob", "queue"]) -> Connection:
        values = connection_values(self, "CloudStorage")
        return resolve_connection("CloudStorage", values, service, local_account="cloud")


class ServiceBusConnectionSettings(BaseModel):
    """``ServiceBusConnection``: the topic's namespace; locally a storage connection string
    (the topic emulated by queues on the cloud account, docs/functions-host.md)."""

    service_bus_connection: SecretStr | None = Field(default=None, alias="ServiceBusConnection")
    service_bus_namespace: str | None = Field(
        default=None, alias="ServiceBusConnection__fullyQualifiedNamespace"
    )
    service_bus_credential: str | None = Field(default=None, alias="ServiceBusConnection__credential")
    service_bus_client_id: str | None = Field(default=None, alias="ServiceBusConnection__clientId")

    def resolve_service_bus(self) -> Connection:
        values = connection_values(self, "ServiceBusConnection")
        return resolve_connection("ServiceBusConnection", values, "servicebus", local_account="cloud")


def sas_url_connection_string(url: str, container: str, setting: str) -> str:
    """A SAS URL as the connection string the SDK takes: the blob endpoint, and the token apart.

    A container's URL (its last path segment is ``container``) gives its account's endpoint;
    any other URL (an account SAS) is the endpoint itself. ``setting`` names the error's source.
    """
    parts = urlsplit(url)
    if not parts.query or "sig=" not in parts.query:
        raise ValueError(f"{setting}: a URL must carry a SAS token (?sv=...&sig=...)")
    path = parts.path.rstrip("/")
    if path.rsplit("/", 1)[-1] == container:
        path = path.rsplit("/", 1)[0]
    return f"BlobEndpoint={parts.scheme}://{parts.netloc}{path};SharedAccessSignature={parts.query}"
