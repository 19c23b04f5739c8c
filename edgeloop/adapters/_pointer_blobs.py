"""Pointer blobs (champion, rollout, shadow) on Blob Storage: ETag-conditioned writes and reads.

The cloud replaces a pointer only under an ETag condition (two writers racing: one wins, the other
is told); a site polls it with a conditional GET, so an unchanged pointer costs a 304 and no body.
Private to the blob adapters that keep pointers (blob_model_registry, blob_rollouts,
blob_shadow_pointers); each reads its own document from the bytes.
"""

from __future__ import annotations

import json
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import ContainerClient, ContentSettings

from edgeloop.ports import RegistryConflict, SourceUnavailable

# no-cache: a site's conditional GET must reach the store, not a cache in between.
POINTER_JSON = ContentSettings(content_type="application/json", cache_control="no-cache")


def stored_json(document: Any) -> bytes:
    """A JSON document as the registry stores it: indented, keys sorted, one trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def read_pointer(container: ContainerClient, blob_name: str) -> tuple[bytes, str] | None:
    """The blob's bytes and ETag, None where there is none (store errors are the caller's)."""
    try:
        download = container.download_blob(blob_name)
    except ResourceNotFoundError:
        return None
    return bytes(download.readall()), str(download.properties.etag)


def write_pointer(
    container: ContainerClient, blob_name: str, data: bytes, etag: str | None, conflict: str
) -> str:
    """Writes ``data`` and returns the new ETag: with ``etag`` None only where no blob is, else only
    over the blob as it was at ``etag``; RegistryConflict(``conflict``) where another write came first."""
    blob = container.get_blob_client(blob_name)
    try:
        if etag is None:
            result = blob.upload_blob(data, overwrite=False, content_settings=POINTER_JSON)
        else:
            condition = MatchConditions.IfNotModified
            result = blob.upload_blob(
                data, overwrite=True, content_settings=POINTER_JSON, etag=etag, match_condition=condition
            )
    except (ResourceExistsError, ResourceModifiedError):
        raise RegistryConflict(conflict) from None
    return str(result["etag"])


def poll_pointer(container: ContainerClient, blob_name: str, etag: str | None) -> tuple[bytes, str] | None:
    """The blob's bytes and ETag if it changed since ``etag`` (None: any blob there is); None when
    there is none or it is unchanged; SourceUnavailable when the store cannot be reached."""
    try:
        if etag is None:
            download = container.download_blob(blob_name)
        else:
            download = container.download_blob(
                blob_name, etag=etag, match_condition=MatchConditions.IfModified
            )
        return bytes(download.readall()), str(download.properties.etag)
    except (ResourceNotModifiedError, ResourceNotFoundError):
        return None  # unchanged, or not written yet
    except HttpResponseError as exc:
        # The SDK raises a plain HttpResponseError for a 304 to a conditional download.
        if exc.status_code == 304 or getattr(exc, "error_code", None) == "ConditionNotMet":
            return None
        raise SourceUnavailable(f"model registry unreachable: {exc}") from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise SourceUnavailable(f"model registry unreachable: {exc}") from exc
