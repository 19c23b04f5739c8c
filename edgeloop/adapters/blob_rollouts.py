"""The RolloutRegistry and RolloutSource ports on Azure Blob Storage, beside the model registry.

Blobs in the registry's container (``models``): ``<name>/rollout-plan.json`` (the plan, cloud
configuration, unsigned: a site never reads it), ``<name>/rollout.json`` (the signed rollout
pointer, replaced only under an ETag condition, read by sites with conditional GETs as the
champion pointer is) and ``<name>/rollouts/<report id>.json`` (each decision of the watch).
"""

from __future__ import annotations

import contextlib
import json

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from edgeloop.adapters._pointer_blobs import poll_pointer, read_pointer, stored_json, write_pointer
from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.config.connections import Connection
from edgeloop.domain.rollout import RolloutError
from edgeloop.domain.rollout_pointer import SignedRollout

PLAN_BLOB = "rollout-plan.json"
ROLLOUT_BLOB = "rollout.json"
REPORTS_PREFIX = "rollouts"
_JSON = ContentSettings(content_type="application/json", cache_control="no-cache")


class BlobRollouts:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    @classmethod
    def from_connection(
        cls,
        connection: Connection,
        container: str,
        clients: AzureClients | None = None,
        *,
        site_side: bool = False,
    ) -> BlobRollouts:
        """On the registry's connection; ``site_side``: fail fast, the site polls again on its own."""
        options = {"retry_total": 0, "connection_timeout": 5, "read_timeout": 60} if site_side else {}
        service = (clients or AzureClients()).blob_service(connection, **options)
        return cls(service.get_container_client(container))

    # --- RolloutRegistry (the cloud) -------------------------------------------------------------

    def plan(self, name: str) -> bytes | None:
        try:
            return bytes(self._container.download_blob(f"{name}/{PLAN_BLOB}").readall())
        except ResourceNotFoundError:
            return None

    def set_plan(self, name: str, document: bytes) -> None:
        self._ensure_container()
        self._container.upload_blob(f"{name}/{PLAN_BLOB}", document, overwrite=True, content_settings=_JSON)

    def signed_rollout(self, name: str) -> tuple[SignedRollout, str] | None:
        found = read_pointer(self._container, f"{name}/{ROLLOUT_BLOB}")
        return None if found is None else (_rollout(found[0]), found[1])

    def set_rollout(self, signed: SignedRollout, etag: str | None) -> str:
        self._ensure_container()
        name = signed.pointer.name
        conflict = f"the rollout of {name} changed meanwhile; read it again and retry"
        return write_pointer(
            self._container, f"{name}/{ROLLOUT_BLOB}", stored_json(signed.to_dict()), etag, conflict
        )

    def write_report(self, name: str, report_id: str, document: bytes) -> str:
        self._ensure_container()
        blob_name = f"{name}/{REPORTS_PREFIX}/{report_id}.json"
        self._container.upload_blob(blob_name, document, overwrite=True, content_settings=_JSON)
        return blob_name

    # --- RolloutSource (a site) ------------------------------------------------------------------

    def poll_rollout(self, name: str, etag: str | None) -> tuple[SignedRollout, str] | None:
        found = poll_pointer(self._container, f"{name}/{ROLLOUT_BLOB}", etag)
        return None if found is None else (_rollout(found[0]), found[1])

    def _ensure_container(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()


def _rollout(raw: bytes) -> SignedRollout:
    try:
        return SignedRollout.from_dict(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise RolloutError(f"rollout pointer is not JSON: {exc}") from None
