"""The ShadowPointers port on Blob Storage: ``<name>/shadow.json`` in the registry's ``models`` container.

Written by the cloud under an ETag condition (two operators racing: one wins, the other is told);
polled by sites with a conditional GET, as the champion pointer is (an unchanged pointer costs a
304). A site reads it with the same read/list SAS it reads the registry with.
"""

from __future__ import annotations

import contextlib
import json

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

from edgeloop.domain.champion import ChampionError
from edgeloop.domain.shadow_pointer import SignedShadowPointer
from edgeloop.ports import RegistryConflict, SourceUnavailable

SHADOW_BLOB = "shadow.json"
_UNREACHABLE = (ServiceRequestError, ServiceResponseError, HttpResponseError)


class BlobShadowPointers:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def read(self, name: str) -> tuple[SignedShadowPointer, str] | None:
        try:
            download = self._container.download_blob(f"{name}/{SHADOW_BLOB}")
        except ResourceNotFoundError:
            return None
        except _UNREACHABLE as exc:
            raise SourceUnavailable(f"model registry unreachable: {exc}") from exc
        return _pointer(download.readall()), str(download.properties.etag)

    def write(self, signed: SignedShadowPointer, etag: str | None) -> str:
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()
        blob = self._container.get_blob_client(f"{signed.pointer.name}/{SHADOW_BLOB}")
        data = json.dumps(signed.to_dict(), indent=2, sort_keys=True).encode("utf-8") + b"\n"
        settings = ContentSettings(content_type="application/json", cache_control="no-cache")
        try:
            if etag is None:
                result = blob.upload_blob(data, overwrite=False, content_settings=settings)
            else:
                result = blob.upload_blob(
                    data,
                    overwrite=True,
                    content_settings=settings,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError):
            raise RegistryConflict(
                f"the shadow pointer of {signed.pointer.name} changed meanwhile; read it again and retry"
            ) from None
        return str(result["etag"])

    def poll(self, name: str, etag: str | None) -> tuple[SignedShadowPointer, str] | None:
        if etag is None:
            return self.read(name)
        try:
            download = self._container.download_blob(
                f"{name}/{SHADOW_BLOB}", etag=etag, match_condition=MatchConditions.IfModified
            )
            return _pointer(download.readall()), str(download.properties.etag)
        except (ResourceNotModifiedError, ResourceNotFoundError):
            return None
        except HttpResponseError as exc:
            if exc.status_code == 304 or getattr(exc, "error_code", None) == "ConditionNotMet":
                return None
            raise SourceUnavailable(f"model registry unreachable: {exc}") from exc
        except _UNREACHABLE as exc:
            raise SourceUnavailable(f"model registry unreachable: {exc}") from exc


def _pointer(raw: bytes) -> SignedShadowPointer:
    try:
        return SignedShadowPointer.from_dict(json.loads(raw))
    except (json.JSONDecodeError, ChampionError) as exc:
        raise SourceUnavailable(f"shadow pointer is unreadable: {exc}") from exc
