"""Composition of the lake feed: called by the cloud functions on first use, never at import."""

from __future__ import annotations

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.delta_lake_table import DeltaLakeTable
from edgeloop.config.lake import LakeSettings
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.service_layer.lake_feed import LakeFeed


def build_lake_table(
    settings: LakeSettings | RetrainingSettings, clients: AzureClients | None = None
) -> DeltaLakeTable:
    """The table alone: the notebook and analysts read it (``frame``)."""
    clients = clients or AzureClients.from_settings(settings)
    return DeltaLakeTable.from_connection(settings.resolve_cloud_storage("blob"), clients)


def build_lake_feed(settings: LakeSettings, clients: AzureClients | None = None) -> LakeFeed:
    clients = clients or AzureClients.from_settings(settings)
    blobs = AzureBlobStore.from_connection(settings.resolve_cloud_storage("blob"), clients)
    return LakeFeed(blobs, build_lake_table(settings, clients))
