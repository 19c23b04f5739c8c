"""The BlobStore port on Azure Blob Storage (azure-storage-blob; Azurite locally)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContentSettings

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.config.connections import Connection


class AzureBlobStore:
    """Containers are created on first use (once per process), so a fresh account just works."""

    def __init__(self, service: BlobServiceClient) -> None:
        self._service = service
        self._ready: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_connection_string(cls, connection_string: str) -> AzureBlobStore:
        return cls(BlobServiceClient.from_connection_string(connection_string))

    @classmethod
    def from_connection(cls, connection: Connection, clients: AzureClients | None = None) -> AzureBlobStore:
        """A connection string or an identity-based connection (edgeloop.config.connections)."""
        return cls((clients or AzureClients()).blob_service(connection))

    def _ensure_container(self, container: str) -> None:
        with self._lock:
            if container in self._ready:
                return
        # Already there (another worker, an earlier run) is exactly what we want.
        with contextlib.suppress(ResourceExistsError):
            self._service.create_container(container)
        with self._lock:
            self._ready.add(container)

    def put(
        self,
        container: str,
        name: str,
        data: bytes,
        *,
        content_type: str,
        overwrite: bool = True,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """One upload: the body and its ``metadata`` (a site's signature) land together or not at all."""
        self._ensure_container(container)
        blob = self._service.get_blob_client(container, name)
        blob.upload_blob(
            data,
            overwrite=overwrite,
            content_settings=ContentSettings(content_type=content_type),
            metadata=dict(metadata) if metadata else None,
        )
        return str(blob.url)

    def get(self, container: str, name: str) -> bytes:
        return bytes(self._service.get_blob_client(container, name).download_blob().readall())

    def get_with_metadata(self, container: str, name: str) -> tuple[bytes, dict[str, str]]:
        """The body and its metadata from one download (the same version of the blob)."""
        download = self._service.get_blob_client(container, name).download_blob()
        return bytes(download.readall()), dict(download.properties.metadata or {})

    def list_names(self, container: str, prefix: str | None = None) -> list[str]:
        """Blob names in ``container`` (sorted); an absent container holds none."""
        client = self._service.get_container_client(container)
        if not client.exists():
            return []
        return sorted(str(item.name) for item in client.list_blobs(name_starts_with=prefix))
