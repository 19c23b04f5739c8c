"""Composition root of the Power BI feed and the ``edgeloop powerbi`` CLI: settings -> adapters."""

from __future__ import annotations

import json
from pathlib import Path

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.powerbi_client import (
    MsalTokenProvider,
    PowerBIClient,
    PowerBIPushSink,
    RateLimits,
    RetryPolicy,
    StaticTokenProvider,
    TokenProvider,
)
from edgeloop.adapters.powerbi_local_sink import LocalRowSink
from edgeloop.adapters.sqlite_delivery_ledger import SqliteDeliveryLedger
from edgeloop.bootstrap.site_trust import verified_blobs
from edgeloop.config.powerbi import PowerBISettings
from edgeloop.domain.powerbi_dataset import PowerBIDataset
from edgeloop.domain.powerbi_schema import DefinitionError
from edgeloop.ports import BlobStore, RowSink
from edgeloop.service_layer.powerbi_feed import PowerBIFeed


def build_token_provider(settings: PowerBISettings) -> TokenProvider:
    if settings.access_token is not None:
        return StaticTokenProvider(settings.access_token.get_secret_value())
    return MsalTokenProvider.for_service_principal(
        settings.required("tenant_id"),
        settings.required("client_id"),
        settings.required("client_secret"),
        settings.authority_host,
    )


def build_client(settings: PowerBISettings) -> PowerBIClient:
    return PowerBIClient(
        settings.api_base_url,
        settings.required("group_id"),
        build_token_provider(settings),
        retry=RetryPolicy(
            max_attempts=settings.max_attempts,
            backoff_seconds=settings.backoff_seconds,
            max_backoff_seconds=settings.max_backoff_seconds,
            max_retry_after_seconds=settings.max_retry_after_seconds,
        ),
        limits=RateLimits(
            requests_per_minute=settings.requests_per_minute,
            request_burst=settings.request_burst,
            rows_per_hour=settings.rows_per_hour,
        ),
        timeout=settings.timeout_seconds,
    )


def build_sink(settings: PowerBISettings) -> RowSink:
    if settings.mode == "local":
        return LocalRowSink(settings.sink_dir / settings.dataset_name)
    return PowerBIPushSink(build_client(settings), settings.required("dataset_id"))


def load_dataset(path: Path) -> PowerBIDataset:
    """The model's dataset from its definition file (POWERBI_DATASET_DEFINITION); ValueError naming it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"POWERBI_DATASET_DEFINITION={path}: cannot read it ({exc})") from None
    try:
        return PowerBIDataset.from_definition(document)
    except DefinitionError as exc:
        raise ValueError(f"POWERBI_DATASET_DEFINITION={path}: {exc}") from None


def build_feed(
    settings: PowerBISettings, blobs: BlobStore | None = None, clients: AzureClients | None = None
) -> PowerBIFeed:
    if blobs is None:
        # CloudStorage (a connection string) or CloudStorage__blobServiceUri (the app's identity).
        connection = settings.resolve_cloud_storage("blob")
        store = AzureBlobStore.from_connection(connection, clients or AzureClients.from_settings(settings))
        blobs = verified_blobs(store, settings)
    return PowerBIFeed(
        blobs,
        build_sink(settings),
        SqliteDeliveryLedger(settings.ledger_path),
        load_dataset(settings.dataset_definition),
        rows_per_push=settings.max_rows_per_post,
    )
