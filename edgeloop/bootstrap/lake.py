"""Composition of the lake feed: called by the cloud functions on first use, never at import."""

from __future__ import annotations

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.delta_lake_table import DeltaLakeTable
from edgeloop.bootstrap.site_trust import verified_blobs
from edgeloop.config.lake import LakeSettings
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.lake_rows import FEEDBACK_LAKE, INSIGHTS_LAKE, LakeTableSpec
from edgeloop.service_layer.lake_feed import LakeFeed


def build_lake_table(
    settings: LakeSettings | RetrainingSettings,
    clients: AzureClients | None = None,
    spec: LakeTableSpec = INSIGHTS_LAKE,
) -> DeltaLakeTable:
    """One table alone (``insights`` unless ``spec`` says): the notebook and analysts read it (``frame``)."""
    clients = clients or AzureClients.from_settings(settings)
    return DeltaLakeTable.from_connection(settings.resolve_cloud_storage("blob"), clients, spec=spec)


def build_lake_feed(settings: LakeSettings, clients: AzureClients | None = None) -> LakeFeed:
    clients = clients or AzureClients.from_settings(settings)
    store = AzureBlobStore.from_connection(settings.resolve_cloud_storage("blob"), clients)
    blobs = verified_blobs(store, settings)  # what the sites wrote: only if they signed it
    return LakeFeed(
        blobs, build_lake_table(settings, clients), build_lake_table(settings, clients, FEEDBACK_LAKE)
    )
