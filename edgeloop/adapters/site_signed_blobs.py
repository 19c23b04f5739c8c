"""Site signatures on the blob ports: a site's writer signs, the cloud's reader verifies (one place each).

``SiteSignedBlobs`` (a site: the edge Functions' records, the scoring app's frames) signs every put
and hands the signature to the inner store as the blob's metadata, in the same create call, so a
blob is never there unsigned. It refuses a name filed under another site (a misconfigured site id:
the message stays on site, in the poison queue, rather than being refused in the cloud).

``SiteVerifiedBlobs`` (the cloud: ingest, the Power BI and lake feeds, retraining's labelled rows
and frames) reads a site-written container's blob with its metadata and returns it only when the
site its name files it under holds a trusted key that signed this name and body, and the records'
(or frame document's) ``site_id`` is that site; else :class:`~edgeloop.ports.SiteBlobRefused`
naming the blob and why, logged as a warning and counted by rule in ``refused``. Other containers
(base data, the registry) pass through. Rules: edgeloop.domain.site_signatures.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

import orjson

from edgeloop.adapters.site_signing import SiteBlobSigner
from edgeloop.domain.site_signatures import (
    KeyCheck,
    SiteSignatureRefused,
    check_site_blob,
    refuse_foreign_records,
    site_of_blob,
)
from edgeloop.ports import SiteBlobRefused
from edgeloop.wire.storage_layout import ANOMALIES_CONTAINER, COMPLIANT_CONTAINER, FRAMES_CONTAINER

logger = logging.getLogger(__name__)

RECORDS_CONTAINERS = frozenset({COMPLIANT_CONTAINER, ANOMALIES_CONTAINER})


class MetadataWriter(Protocol):
    def put(
        self,
        container: str,
        name: str,
        data: bytes,
        *,
        content_type: str,
        overwrite: bool = True,
        metadata: Mapping[str, str] | None = None,
    ) -> str: ...

    def get(self, container: str, name: str) -> bytes: ...


class MetadataReader(Protocol):
    def list_names(self, container: str, prefix: str | None = None) -> list[str]: ...

    def get(self, container: str, name: str) -> bytes: ...

    def get_with_metadata(self, container: str, name: str) -> tuple[bytes, dict[str, str]]: ...


class SiteSignedBlobs:
    """The BlobStore port for a site's cloud writes, each blob signed with the site's key."""

    def __init__(self, inner: MetadataWriter, signer: SiteBlobSigner) -> None:
        self._inner = inner
        self._signer = signer

    def put(
        self, container: str, name: str, data: bytes, *, content_type: str, overwrite: bool = True
    ) -> str:
        filed_under = site_of_blob(name)
        if filed_under != self._signer.site_id:
            raise ValueError(
                f"{container}/{name}: filed under site {filed_under}, but this site is "
                f"{self._signer.site_id!r} (EDGELOOP_SITE_ID): it signs its own blobs only"
            )
        metadata = self._signer.sign(container, name, data).to_metadata()
        return self._inner.put(
            container, name, data, content_type=content_type, overwrite=overwrite, metadata=metadata
        )

    def get(self, container: str, name: str) -> bytes:
        return self._inner.get(container, name)


class SiteVerifiedBlobs:
    """The BlobStore / BlobReader ports for the cloud's readers: a site's blob only if that site signed it."""

    def __init__(
        self, inner: MetadataReader, keys: KeyCheck, records_containers: Iterable[str] = RECORDS_CONTAINERS
    ) -> None:
        """``records_containers``: where sites write records (a deployment may rename ``compliant``)."""
        self._inner = inner
        self._keys = keys
        self._records = frozenset(records_containers)
        self._site_written = self._records | {FRAMES_CONTAINER}
        self.refused: Counter[str] = Counter()  # refusals by rule (domain.site_signatures.RefusalKind)

    def list_names(self, container: str, prefix: str | None = None) -> list[str]:
        return self._inner.list_names(container, prefix)

    def put(
        self, container: str, name: str, data: bytes, *, content_type: str, overwrite: bool = True
    ) -> str:
        raise PermissionError(f"{container}/{name}: the cloud's readers of site blobs write nothing")

    def get(self, container: str, name: str) -> bytes:
        if container not in self._site_written:
            return self._inner.get(container, name)
        data, metadata = self._inner.get_with_metadata(container, name)
        try:
            site = check_site_blob(container, name, data, metadata, self._keys)
            if container in self._records:
                refuse_foreign_records(record_site_ids(data), site)
            elif name.endswith(".json"):  # a frame's document (its picture carries no site id)
                refuse_foreign_records([_document_site_id(data)], site)
        except SiteSignatureRefused as exc:
            self.refused[exc.kind] += 1
            logger.warning("refused %s/%s (%s): %s", container, name, exc.kind, exc)
            raise SiteBlobRefused(f"{container}/{name}: refused, {exc}") from None
        return data


def record_site_ids(data: bytes) -> Iterator[object]:
    """Each record's ``site_id`` of a records blob; a blob that does not parse is the reader's to refuse."""
    try:
        text = gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            yield value.get("site_id")


def _document_site_id(data: bytes) -> object:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return document.get("site_id") if isinstance(document, dict) else None
