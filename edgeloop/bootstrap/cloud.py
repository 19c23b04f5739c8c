"""Composition root of the cloud side's global store: settings in, wired objects out.

Called on first use by the ``ingest_insights`` function and by the global app,
never at import. Adapters are imported here, lazily, so SQLite-only runs never
load the Cosmos SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgeloop.bootstrap.tracing import configure_logging, configure_tracing
from edgeloop.config.cloud import CloudSettings
from edgeloop.ports import InsightStore, Tracer
from edgeloop.service_layer.ingest import InsightIngest

if TYPE_CHECKING:
    from azure.cosmos import ContainerProxy

    from edgeloop.adapters.azure_clients import AzureClients

PARTITION_KEY_PATH = "/site_id"


def cosmos_container(settings: CloudSettings) -> ContainerProxy:
    from azure.cosmos import CosmosClient, PartitionKey

    assert settings.cosmos_endpoint is not None  # CloudSettings validates it for store=cosmos
    credential: object
    if settings.cosmos_key is not None:
        credential = settings.cosmos_key.get_secret_value()
    else:
        from azure.identity import DefaultAzureCredential  # managed identity in Azure

        credential = DefaultAzureCredential()
    client = CosmosClient(
        settings.cosmos_endpoint,
        credential=credential,
        # Throttling (429) retries honour the service's x-ms-retry-after-ms.
        retry_total=settings.cosmos_retry_total,
        retry_backoff_max=settings.cosmos_retry_backoff_max_s,
    )
    if not settings.cosmos_create_container:
        return client.get_database_client(settings.cosmos_database).get_container_client(
            settings.cosmos_container
        )
    database = client.create_database_if_not_exists(settings.cosmos_database)
    return database.create_container_if_not_exists(
        settings.cosmos_container,
        partition_key=PartitionKey(path=PARTITION_KEY_PATH),
        # -1: TTL on, items decide (insights carry COSMOS_TTL_SECONDS, counters never expire).
        default_ttl=-1 if settings.cosmos_ttl_seconds is not None else None,
    )


def build_store(settings: CloudSettings) -> InsightStore:
    if settings.store == "cosmos":
        from edgeloop.adapters.cosmos_store import CosmosInsightStore

        return CosmosInsightStore(
            cosmos_container(settings),
            ttl_seconds=settings.cosmos_ttl_seconds,
            max_concurrency=settings.cosmos_max_concurrency,
        )
    from edgeloop.adapters.sqlite_store import SqliteInsightStore

    return SqliteInsightStore(settings.sqlite_path)


def build_ingest(
    settings: CloudSettings | None = None, clients: AzureClients | None = None, tracer: Tracer | None = None
) -> InsightIngest:
    from edgeloop.adapters.azure_clients import AzureClients
    from edgeloop.adapters.blob_storage import AzureBlobStore

    settings = settings or CloudSettings()
    if tracer is None:
        configure_logging()
        tracer = configure_tracing("edgeloop-cloud-functions")
    # CloudStorage (a connection string) or CloudStorage__blobServiceUri (the app's identity).
    connection = settings.resolve_cloud_storage("blob")
    from edgeloop.bootstrap.site_trust import verified_blobs

    blobs = AzureBlobStore.from_connection(connection, clients or AzureClients.from_settings(settings))
    return InsightIngest(verified_blobs(blobs, settings), build_store(settings), tracer)
