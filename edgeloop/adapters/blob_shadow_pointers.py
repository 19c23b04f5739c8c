"""The ShadowPointers port on Blob Storage: ``<name>/shadow.json`` in the registry's ``models`` container.

Written by the cloud under an ETag condition (two operators racing: one wins, the other is told);
polled by sites with a conditional GET, as the champion pointer is (an unchanged pointer costs a
304). A site reads it with the same read/list SAS it reads the registry with.
"""

from __future__ import annotations

import contextlib
import json

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import ContainerClient

from edgeloop.adapters._pointer_blobs import poll_pointer, stored_json, write_pointer
from edgeloop.domain.champion import ChampionError
from edgeloop.domain.shadow_pointer import SignedShadowPointer
from edgeloop.ports import SourceUnavailable

SHADOW_BLOB = "shadow.json"


class BlobShadowPointers:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def read(self, name: str) -> tuple[SignedShadowPointer, str] | None:
        return self.poll(name, None)

    def write(self, signed: SignedShadowPointer, etag: str | None) -> str:
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()
        name = signed.pointer.name
        conflict = f"the shadow pointer of {name} changed meanwhile; read it again and retry"
        return write_pointer(
            self._container, f"{name}/{SHADOW_BLOB}", stored_json(signed.to_dict()), etag, conflict
        )

    def poll(self, name: str, etag: str | None) -> tuple[SignedShadowPointer, str] | None:
        found = poll_pointer(self._container, f"{name}/{SHADOW_BLOB}", etag)
        return None if found is None else (_pointer(found[0]), found[1])


def _pointer(raw: bytes) -> SignedShadowPointer:
    try:
        return SignedShadowPointer.from_dict(json.loads(raw))
    except (json.JSONDecodeError, ChampionError) as exc:
        raise SourceUnavailable(f"shadow pointer is unreadable: {exc}") from exc
