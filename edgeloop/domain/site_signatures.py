"""Per-site signatures on what a site writes to the cloud account: what is signed, and the check.

A container SAS cannot be scoped to a name prefix, so a site could create blobs under another
site's prefix (``site=<other>/...``). Each site therefore signs every blob it writes with its
own Ed25519 key, over (:func:`site_blob_payload`): a fixed domain prefix (no other signature
of the project, bundle or pointer, can stand in for this one), the container, the blob name,
the sha256 of the body and the site id. The signature and the key's id travel in the blob's
metadata, written in the same create call (:data:`SIGNATURE_METADATA`, :data:`KEY_ID_METADATA`:
Azure metadata names are C# identifiers, values ASCII).

The cloud trusts a set of public keys per site (rotation: add the new key, switch the site,
remove the old). :func:`check_site_blob` refuses a blob, with a :class:`SiteSignatureRefused`
naming why, when its name has no ``site=`` segment, it is unsigned, its key is not one of
that site's, or the signature does not verify (another name, another body, another site).
The records' own ``site_id`` (and a frame document's) must be the signed site too
(:func:`foreign_site_ids`). Pure: the key handling is an adapter's (``KeyCheck``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import unquote

from edgeloop.domain.bundle_integrity import canonical_json

SITE_BLOB_SIGNING_DOMAIN = b"edgeloop.site-blob.signature.v1\n"
SIGNATURE_METADATA = "edgeloop_site_signature"
KEY_ID_METADATA = "edgeloop_site_key_id"
SITE_SEGMENT = "site="

RefusalKind = Literal["no_site", "unsigned", "malformed", "unknown_key", "forged", "foreign_records"]


class SiteSignatureRefused(ValueError):
    """A site-written blob the cloud must not use; ``kind`` says which rule refused it (counters)."""

    def __init__(self, kind: RefusalKind, message: str) -> None:
        super().__init__(message)
        self.kind: RefusalKind = kind


@dataclass(frozen=True, slots=True)
class SiteBlobSignature:
    key_id: str  # first 16 hex of sha256(public key), as for bundles and pointers
    signature: bytes

    def to_metadata(self) -> dict[str, str]:
        return {
            SIGNATURE_METADATA: base64.b64encode(self.signature).decode("ascii"),
            KEY_ID_METADATA: self.key_id,
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> SiteBlobSignature | None:
        """The signature a blob's metadata carries; None: unsigned. Names compared case-blind
        (Azure keeps metadata names as written, HTTP headers do not)."""
        fields = {name.lower(): value for name, value in metadata.items()}
        text, key_id = fields.get(SIGNATURE_METADATA), fields.get(KEY_ID_METADATA)
        if not text and not key_id:
            return None
        if not text or not key_id:
            raise SiteSignatureRefused(
                "malformed", "the signature or its key id is missing from its metadata"
            )
        try:
            return cls(key_id, base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise SiteSignatureRefused("malformed", "the signature is not base64") from None


class KeyCheck(Protocol):
    """The cloud's trusted site keys (an adapter): which key ids a site holds, and the check."""

    def key_ids(self, site_id: str) -> frozenset[str]: ...

    def verifies(self, key_id: str, signature: bytes, payload: bytes) -> bool: ...


def site_blob_payload(container: str, name: str, body_sha256: str, site_id: str) -> bytes:
    """The exact bytes a site signs for one blob."""
    document = {"blob": name, "container": container, "sha256": body_sha256, "site_id": site_id}
    return SITE_BLOB_SIGNING_DOMAIN + canonical_json(document)


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def site_of_blob(name: str) -> str | None:
    """The site a blob's name files it under (its first ``site=`` segment, unquoted); None: none."""
    for segment in name.split("/"):
        if segment.startswith(SITE_SEGMENT):
            return unquote(segment[len(SITE_SEGMENT) :]) or None
    return None


def check_site_blob(
    container: str, name: str, body: bytes, metadata: Mapping[str, str], keys: KeyCheck
) -> str:
    """The site that provably wrote ``container/name`` with this body; else :class:`SiteSignatureRefused`."""
    site = site_of_blob(name)
    if site is None:
        raise SiteSignatureRefused("no_site", "its name has no site= segment: no site vouches for it")
    signature = SiteBlobSignature.from_metadata(metadata)
    if signature is None:
        raise SiteSignatureRefused("unsigned", f"it is not signed (site {site} signs what it writes)")
    trusted = keys.key_ids(site)
    if signature.key_id not in trusted:
        held = ", ".join(sorted(trusted)) or "none"
        raise SiteSignatureRefused(
            "unknown_key", f"signed by key {signature.key_id}; site {site}'s trusted keys: {held}"
        )
    payload = site_blob_payload(container, name, body_sha256(body), site)
    if not keys.verifies(signature.key_id, signature.signature, payload):
        raise SiteSignatureRefused(
            "forged", f"no key of site {site} signed this name and body (edited, or copied from another)"
        )
    return site


def foreign_site_ids(site_ids: Iterable[object], site: str) -> list[str]:
    """The ``site_id`` values, other than ``site``, a blob's records (or frame document) carry."""
    return sorted({str(value) for value in site_ids if value != site})


def refuse_foreign_records(site_ids: Iterable[object], site: str) -> None:
    """Records of another site in a blob ``site`` signed: refused (a site vouches for its own only)."""
    foreign = foreign_site_ids(site_ids, site)
    if foreign:
        raise SiteSignatureRefused(
            "foreign_records", f"signed by site {site} but holds records of site {', '.join(foreign)}"
        )
