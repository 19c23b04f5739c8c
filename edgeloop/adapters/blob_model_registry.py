"""The model registry on Azure Blob Storage (container ``models``, cloud account; Azurite locally).

Layout: ``<name>/<version>/<file>`` for a version's files, then
``<name>/<version>/version.json``, written last and only if absent: a version
exists once that record does, so a run killed midway leaves no half version,
only files that :meth:`discard_incomplete` removes later. ``<name>/champion.json``
(a signed pointer, edgeloop.domain.signed_pointer) is replaced only under an ETag
condition; ``<name>/runs/<run id>.json`` holds each run's report. The same class is the
sites' read-only ``ChampionSource`` (conditional GETs: an unchanged pointer costs a 304, no body).
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import ContainerClient, ContentSettings
from pydantic import SecretStr

from edgeloop.adapters._pointer_blobs import poll_pointer, read_pointer, stored_json, write_pointer
from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.config.connections import Connection, ConnectionString
from edgeloop.domain.champion import ChampionError, ChampionPointer
from edgeloop.domain.records import format_timestamp
from edgeloop.domain.signed_pointer import SignedPointer
from edgeloop.ports import SourceUnavailable, VersionExists
from edgeloop.wire.storage_layout import MODELS_CONTAINER

VERSION_RECORD = "version.json"
CHAMPION_BLOB = "champion.json"
RUNS_PREFIX = "runs"
# Network failures and server-side errors (5xx, 403 while a SAS rotates): retry at the next poll.
_UNREACHABLE = (ServiceRequestError, ServiceResponseError, HttpResponseError)


class RegistryError(RuntimeError):
    """The registry holds something unreadable, or a version that is not registered."""


class BlobModelRegistry:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container
        self._ready = False

    @classmethod
    def from_connection(
        cls,
        connection: Connection,
        container: str = MODELS_CONTAINER,
        clients: AzureClients | None = None,
        *,
        site_side: bool = False,
    ) -> BlobModelRegistry:
        """On a resolved connection: a connection string (a SAS on a site) or the app's identity."""
        options: dict[str, Any] = {}
        if site_side:
            # A site polls again on its own schedule: fail fast rather than retry for minutes.
            options = {"retry_total": 0, "connection_timeout": 5, "read_timeout": 60}
        service = (clients or AzureClients()).blob_service(connection, **options)
        return cls(service.get_container_client(container))

    @classmethod
    def from_connection_string(
        cls, connection_string: str, container: str = MODELS_CONTAINER, *, site_side: bool = False
    ) -> BlobModelRegistry:
        connection = ConnectionString("connection string", SecretStr(connection_string))
        return cls.from_connection(connection, container, site_side=site_side)

    @property
    def container(self) -> ContainerClient:
        """The registry's container, for the shadow pointer beside it (adapters/blob_shadow_pointers.py)."""
        return self._container

    def _ensure_container(self) -> None:
        if self._ready:
            return
        with contextlib.suppress(ResourceExistsError):  # created by an earlier run: what we want
            self._container.create_container()
        self._ready = True

    # --- ModelRegistry ---------------------------------------------------------------------------

    def register(self, name: str, version: str, files: dict[str, bytes]) -> None:
        if "/" in name or "/" in version or version in (RUNS_PREFIX, CHAMPION_BLOB):
            raise ValueError(f"model name and version may not contain '/': {name!r} {version!r}")
        self._ensure_container()
        prefix = f"{name}/{version}/"
        if self._exists(prefix + VERSION_RECORD):
            raise VersionExists(f"{name} {version} is already registered (versions are immutable)")
        for leftover in self._container.list_blob_names(name_starts_with=prefix):
            self._container.delete_blob(leftover)  # from an attempt that died before registering
        for file_name, data in files.items():
            self._upload(prefix + file_name, data, _content_type(file_name), overwrite=False)
        record = {
            "format": "edgeloop.registered-version",
            "name": name,
            "version": version,
            "registered_at": format_timestamp(datetime.now(UTC)),
            "files": sorted(files),
        }
        try:
            self._upload(prefix + VERSION_RECORD, stored_json(record), "application/json", overwrite=False)
        except ResourceExistsError:
            raise VersionExists(f"{name} {version} was registered concurrently") from None

    def versions(self, name: str) -> list[str]:
        found = []
        for blob in self._container_blobs(f"{name}/"):
            parts = blob.name.split("/")
            if len(parts) == 3 and parts[2] == VERSION_RECORD:
                found.append((blob.creation_time, parts[1]))
        return [version for _, version in sorted(found)]

    def read(self, name: str, version: str, file_name: str) -> bytes:
        try:
            return bytes(self._container.download_blob(f"{name}/{version}/{file_name}").readall())
        except ResourceNotFoundError:
            raise RegistryError(f"{name} {version} has no file {file_name!r}") from None

    def discard_incomplete(self, name: str, older_than_seconds: float) -> list[str]:
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
        by_version: dict[str, list[Any]] = defaultdict(list)
        for blob in self._container_blobs(f"{name}/"):
            parts = blob.name.split("/")
            if len(parts) == 3 and parts[1] != RUNS_PREFIX:
                by_version[parts[1]].append(blob)
        discarded = []
        for version, blobs in sorted(by_version.items()):
            if any(blob.name.endswith("/" + VERSION_RECORD) for blob in blobs):
                continue
            if max(blob.last_modified for blob in blobs) > cutoff:
                continue  # maybe a run still writing it
            for blob in blobs:
                self._container.delete_blob(blob.name)
            discarded.append(version)
        return discarded

    def champion(self, name: str) -> tuple[ChampionPointer, str] | None:
        found = self.signed_champion(name)
        return None if found is None else (found[0].pointer, found[1])

    def signed_champion(self, name: str) -> tuple[SignedPointer, str] | None:
        found = read_pointer(self._container, f"{name}/{CHAMPION_BLOB}")
        return None if found is None else (_pointer(found[0]), found[1])

    def set_champion(self, signed: SignedPointer, etag: str | None) -> str:
        self._ensure_container()
        name = signed.pointer.name
        conflict = f"the champion of {name} changed meanwhile; read it again and retry"
        return write_pointer(
            self._container, f"{name}/{CHAMPION_BLOB}", stored_json(signed.to_dict()), etag, conflict
        )

    def write_run_report(self, name: str, run_id: str, document: bytes) -> None:
        self._ensure_container()
        self._upload(f"{name}/{RUNS_PREFIX}/{run_id}.json", document, "application/json", overwrite=True)

    def run_reports(self, name: str) -> list[str]:
        return sorted(self._container.list_blob_names(name_starts_with=f"{name}/{RUNS_PREFIX}/"))

    def read_blob(self, blob_name: str) -> bytes:
        return bytes(self._container.download_blob(blob_name).readall())

    # --- ChampionSource (the site side) ---------------------------------------------------------

    def poll(self, name: str, etag: str | None) -> tuple[SignedPointer, str] | None:
        found = poll_pointer(self._container, f"{name}/{CHAMPION_BLOB}", etag)
        if found is None:
            return None  # unchanged, or no champion yet
        try:
            return _pointer(found[0]), found[1]
        except RegistryError as exc:
            raise SourceUnavailable(str(exc)) from exc

    def fetch(self, name: str, version: str) -> dict[str, bytes]:
        """The registered files that exist (a missing one fails the site's bundle checks)."""
        try:
            record = json.loads(self.read(name, version, VERSION_RECORD))
            files = {}
            for file_name in record["files"]:
                with contextlib.suppress(RegistryError):
                    files[file_name] = self.read(name, version, file_name)
            return files
        except (json.JSONDecodeError, KeyError, TypeError, RegistryError) as exc:
            raise SourceUnavailable(f"{name} {version}: not a readable registered version: {exc}") from exc
        except _UNREACHABLE as exc:
            raise SourceUnavailable(f"model registry unreachable: {exc}") from exc

    # --- helpers ---------------------------------------------------------------------------------

    def _container_blobs(self, prefix: str) -> list[Any]:
        try:
            return list(self._container.list_blobs(name_starts_with=prefix))
        except ResourceNotFoundError:
            return []  # no container yet: an empty registry

    def _exists(self, blob_name: str) -> bool:
        try:
            return bool(self._container.get_blob_client(blob_name).exists())
        except ResourceNotFoundError:
            return False

    def _upload(self, blob_name: str, data: bytes, content_type: str, *, overwrite: bool) -> None:
        self._container.upload_blob(
            blob_name, data, overwrite=overwrite, content_settings=ContentSettings(content_type=content_type)
        )


def _pointer(raw: bytes) -> SignedPointer:
    try:
        return SignedPointer.from_dict(json.loads(raw))
    except (json.JSONDecodeError, ChampionError) as exc:
        raise RegistryError(f"champion pointer is unreadable: {exc}") from exc


def _content_type(file_name: str) -> str:
    if file_name.endswith(".json"):
        return "application/json"
    if file_name.endswith(".png"):
        return "image/png"
    if file_name.endswith(".md"):
        return "text/markdown; charset=utf-8"
    return "application/octet-stream"
