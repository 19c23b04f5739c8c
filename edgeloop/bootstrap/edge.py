"""Composition root of the edge Functions: settings, policy and adapters, wired once.

Built lazily by ``functions/dependencies.py`` on the first invocation, never at import.
"""

from __future__ import annotations

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.create_only_blobs import CreateOnlyBlobStore
from edgeloop.adapters.queue_publisher import QueueEventPublisher
from edgeloop.adapters.servicebus_publisher import ServiceBusEventPublisher
from edgeloop.bootstrap.site_trust import signing_blobs
from edgeloop.bootstrap.tracing import configure_logging, configure_tracing
from edgeloop.config.connections import IdentityConnection
from edgeloop.config.edge_functions import EdgeFunctionSettings, load_compliance_policy
from edgeloop.config.site_access import topic_queue_urls
from edgeloop.domain.compliance import PolicyEngine, PolicyError
from edgeloop.ports import BlobStore, EventPublisher, Tracer
from edgeloop.service_layer.filtering import InsightFilter

_STORAGE_KEYS = ("accountname=", "usedevelopmentstorage=true", "queueendpoint=")


def connection_kind(value: str) -> str:
    """``"servicebus"`` or ``"storage"``: which technology a ServiceBusConnection value is for."""
    text = value.replace(" ", "").lower()
    if "endpoint=sb://" in text:
        return "servicebus"
    if any(key in text for key in _STORAGE_KEYS):
        return "storage"
    raise ValueError(
        "ServiceBusConnection: neither a Service Bus connection string (Endpoint=sb://...) "
        "nor a storage connection string (AccountName=... or UseDevelopmentStorage=true)"
    )


def build_event_publisher(settings: EdgeFunctionSettings, clients: AzureClients) -> EventPublisher:
    connection = settings.resolve_service_bus()
    # A site's stand-in topic: an add-only SAS URL per subscription queue, never the account key.
    urls = None if isinstance(connection, IdentityConnection) else topic_queue_urls(connection.secret())
    if urls is not None:
        subscriptions = settings.subscription_names()
        return QueueEventPublisher.from_queue_urls(urls, settings.topic, subscriptions, clients)
    # Identity-based (a namespace) is always Service Bus; a storage connection string is the
    # local stand-in, the topic emulated by one queue per subscription.
    if isinstance(connection, IdentityConnection) or connection_kind(connection.secret()) == "servicebus":
        return ServiceBusEventPublisher.from_connection(connection, settings.topic, clients)
    return QueueEventPublisher.from_connection(
        connection, settings.topic, settings.subscription_names(), clients
    )


def build_cloud_blobs(settings: EdgeFunctionSettings, clients: AzureClients) -> BlobStore:
    """A site's create-only SAS per container when given (least privilege), else ``CloudStorage``;
    each blob signed with the site's key (``EDGELOOP_SITE_SIGNING_KEY``) when it has one."""
    sas = settings.cloud_write_connections()
    inner: CreateOnlyBlobStore | AzureBlobStore
    if sas is not None:
        inner = CreateOnlyBlobStore.from_connections(sas, clients)
    else:
        inner = AzureBlobStore.from_connection(settings.resolve_cloud_storage("blob"), clients)
    return signing_blobs(inner, settings, settings.site_id)


def build_policy_engine(settings: EdgeFunctionSettings) -> PolicyEngine:
    policy = load_compliance_policy(settings.policy_path)
    if policy.pseudonymized_fields() and settings.hmac_key() is None:
        raise PolicyError(
            str(settings.policy_path),
            f"fields.{policy.pseudonymized_fields()[0]}",
            "pseudonymize needs the site key: set EDGELOOP_SITE_HMAC_KEY",
        )
    return PolicyEngine(policy, settings.hmac_key())


def build_insight_filter(
    settings: EdgeFunctionSettings | None = None,
    clients: AzureClients | None = None,
    tracer: Tracer | None = None,
) -> InsightFilter:
    settings = settings or EdgeFunctionSettings()
    if tracer is None:
        configure_logging()
        tracer = configure_tracing("edgeloop-edge-functions")
    # One credential per identity for all three connections.
    clients = clients or AzureClients.from_settings(settings)
    return InsightFilter(
        engine=build_policy_engine(settings),
        cloud_blobs=build_cloud_blobs(settings, clients),
        site_blobs=AzureBlobStore.from_connection(settings.resolve_edge_storage("blob"), clients),
        publisher=build_event_publisher(settings, clients),
        tracer=tracer,
    )
