"""The BlobStore port on cloud containers a site may only create blobs in (one create-only SAS each).

Every put is a create, so a site can never replace a blob, another site's or its own. A
name already there is the same write again: the filter names each blob after the queue
message's hash, so a redelivered message brings the same bytes, and the blob already
written counts as written. Azure and Azurite refuse a create-only SAS on an existing blob
with 403 ``AuthorizationPermissionMismatch``; a SAS that also writes answers 409. The SAS
is checked to grant create at start-up (edgeloop.config.site_access), so the 403 can only
mean that. A single put (the SDK's default up to 64 MiB, far above one queue message's
records) needs no more than create; staging blocks would need write.

The containers are the deployment's (Bicep; locally localdev): a container SAS cannot create one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import ContainerClient, ContentSettings

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.config.connections import Connection

logger = logging.getLogger(__name__)

EXISTS_TO_CREATE_ONLY = "AuthorizationPermissionMismatch"


class CreateOnlyBlobStore:
    def __init__(self, containers: Mapping[str, ContainerClient]) -> None:
        self._containers = dict(containers)

    @classmethod
    def from_connections(
        cls, connections: Mapping[str, Connection], clients: AzureClients | None = None
    ) -> CreateOnlyBlobStore:
        """One connection (a container SAS) per container name."""
        clients = clients or AzureClients()
        return cls(
            {
                container: clients.blob_service(connection).get_container_client(container)
                for container, connection in connections.items()
            }
        )

    def _container(self, container: str) -> ContainerClient:
        client = self._containers.get(container)
        if client is None:
            raise ValueError(f"no SAS for the cloud container {container!r}: this site may not write it")
        return client

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
        """Create ``name`` with its ``metadata`` (the site's signature) in the same call; already
        there: written before (see the module). ``overwrite`` cannot be had."""
        blob = self._container(container).get_blob_client(name)
        try:
            settings = ContentSettings(content_type=content_type)
            blob.upload_blob(
                data,
                overwrite=False,
                content_settings=settings,
                metadata=dict(metadata) if metadata else None,
            )
        except ResourceExistsError:
            logger.info("%s/%s already written (a redelivered message)", container, name)
        except HttpResponseError as exc:
            if getattr(exc, "error_code", None) != EXISTS_TO_CREATE_ONLY:
                raise
            logger.info("%s/%s already written (a redelivered message)", container, name)
        return _without_token(str(blob.url))

    def get(self, container: str, name: str) -> bytes:
        # A create-only SAS reads nothing: Azure answers 403 (the port asks for the method).
        return bytes(self._container(container).get_blob_client(name).download_blob().readall())


def _without_token(url: str) -> str:
    """The blob's URL for the claim-check event: never the site's SAS token in it."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
