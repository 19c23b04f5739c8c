"""A site's Ed25519 key (signing what it writes to the cloud) and the cloud's trusted keys per site.

Keys are base64 of the raw 32-byte keys, as the model-signing keys (edgeloop.adapters.ed25519_signing,
whose decoding and key ids are reused): a site holds its private key as a secret
(``EDGELOOP_SITE_SIGNING_KEY``), the cloud the public keys of every site
(``EDGELOOP_SITE_PUBLIC_KEYS``: a JSON object, site id to a list of keys; two while a key is rotated).
What is signed and the check: edgeloop.domain.site_signatures.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edgeloop.adapters.ed25519_signing import SigningKeyError, decode_key, key_id
from edgeloop.domain.site_signatures import SiteBlobSignature, body_sha256, site_blob_payload

SITE_SIGNING_KEY_SETTING = "EDGELOOP_SITE_SIGNING_KEY"
SITE_PUBLIC_KEYS_SETTING = "EDGELOOP_SITE_PUBLIC_KEYS"


class SiteBlobSigner:
    """Signs the blobs one site writes (its site id is part of what is signed)."""

    def __init__(self, private_key_b64: str, site_id: str) -> None:
        raw = decode_key(private_key_b64, "the site's private key")
        self._key = Ed25519PrivateKey.from_private_bytes(raw)
        public = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key_b64 = base64.b64encode(public).decode("ascii")
        self.key_id = key_id(public)
        self.site_id = site_id

    def sign(self, container: str, name: str, body: bytes) -> SiteBlobSignature:
        payload = site_blob_payload(container, name, body_sha256(body), self.site_id)
        return SiteBlobSignature(self.key_id, self._key.sign(payload))


class SiteKeyring:
    """The public keys the cloud trusts, per site (the domain's ``KeyCheck``)."""

    def __init__(self, keys: Mapping[str, Sequence[str]]) -> None:
        self._by_site: dict[str, frozenset[str]] = {}
        self._keys: dict[str, Ed25519PublicKey] = {}
        for site, texts in keys.items():
            ids = []
            for index, text in enumerate(texts):
                raw = decode_key(text, f"{SITE_PUBLIC_KEYS_SETTING}: site {site!r}, key #{index + 1}")
                self._keys[key_id(raw)] = Ed25519PublicKey.from_public_bytes(raw)
                ids.append(key_id(raw))
            self._by_site[site] = frozenset(ids)
        self.sites = tuple(sorted(self._by_site))

    @classmethod
    def from_setting(cls, text: str) -> SiteKeyring:
        """``{"<site id>": ["<base64 public key>", ...], ...}``; SigningKeyError naming what is wrong."""
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise SigningKeyError(f"{SITE_PUBLIC_KEYS_SETTING}: not JSON ({exc})") from None
        if not isinstance(document, dict):  # {}: checked, no site trusted yet
            raise SigningKeyError(f"{SITE_PUBLIC_KEYS_SETTING}: expected a JSON object, site id to keys")
        for site, keys in document.items():
            if (
                not site
                or not isinstance(keys, list)
                or not keys
                or not all(isinstance(k, str) for k in keys)
            ):
                what = "expected a non-empty list of base64 public keys"
                raise SigningKeyError(f"{SITE_PUBLIC_KEYS_SETTING}: site {site!r}: {what}")
        return cls(document)

    def key_ids(self, site_id: str) -> frozenset[str]:
        return self._by_site.get(site_id, frozenset())

    def verifies(self, key_id: str, signature: bytes, payload: bytes) -> bool:
        key = self._keys.get(key_id)
        if key is None:
            return False
        try:
            key.verify(signature, payload)
        except InvalidSignature:
            return False
        return True
