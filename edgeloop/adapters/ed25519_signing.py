"""Signing model bundles and champion pointers with Ed25519 (``cryptography``), and the local key files.

Keys travel as base64 of the raw 32-byte keys: the private key only in the
cloud's settings (``MODEL_SIGNING_PRIVATE_KEY``), the public keys in each
site's (``SCORING_MODEL_SIGNING_PUBLIC_KEY``: one key, or several separated by
commas while a key is rotated; each key is named by its ``key_id``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edgeloop.domain.bundle_integrity import BundleSignature, IntegrityError, signing_payload
from edgeloop.domain.signed_pointer import PointerSignature, UnknownSigningKey

PRIVATE_KEY_FILE = "model-signing.key"
PUBLIC_KEY_FILE = "model-signing.pub"


class SigningKeyError(ValueError):
    """A key setting or file that is not a base64 Ed25519 key."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def decode_key(text: str, what: str) -> bytes:
    if text.lstrip().startswith("-----BEGIN"):
        # One format everywhere (settings, Key Vault, sites): say which, rather than "not base64".
        raise SigningKeyError(
            f"{what} is a PEM document; expected base64 of the raw 32-byte key "
            "(what `edgeloop models keygen` writes)"
        )
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError(f"{what} is not base64") from None
    if len(raw) != 32:
        raise SigningKeyError(f"{what} must be a raw 32-byte Ed25519 key, got {len(raw)} bytes")
    return raw


def generate_key_pair() -> tuple[str, str]:
    """``(private, public)``, each base64 of the raw key."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = _raw_public(private.public_key())
    return base64.b64encode(raw_private).decode(), base64.b64encode(raw_public).decode()


class BundleSigner:
    def __init__(self, private_key_b64: str) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(decode_key(private_key_b64, "signing private key"))
        self.public_key_b64 = base64.b64encode(_raw_public(self._key.public_key())).decode()
        self.key_id = key_id(_raw_public(self._key.public_key()))

    def sign(self, manifest_document: Mapping[str, Any]) -> BundleSignature:
        return BundleSignature(self.key_id, self._key.sign(signing_payload(manifest_document)))

    def sign_pointer(self, payload: bytes) -> PointerSignature:
        """Sign a champion pointer's payload (edgeloop.domain.signed_pointer.pointer_payload)."""
        return PointerSignature(self.key_id, self._key.sign(payload))


class BundleVerifier:
    """The public keys a side trusts (one, or several during a rotation), for bundles and pointers."""

    def __init__(self, public_keys_b64: str) -> None:
        texts = [text for text in public_keys_b64.replace(",", " ").split() if text]
        if not texts:
            raise SigningKeyError("no signing public key given")
        self._keys: dict[str, Ed25519PublicKey] = {}
        for index, text in enumerate(texts):
            what = "signing public key" if len(texts) == 1 else f"signing public key #{index + 1}"
            raw = decode_key(text, what)
            self._keys[key_id(raw)] = Ed25519PublicKey.from_public_bytes(raw)
        self.key_ids = tuple(self._keys)

    def _key_for(self, signer_key_id: str) -> Ed25519PublicKey:
        key = self._keys.get(signer_key_id)
        if key is None:
            trusted = ", ".join(self.key_ids)
            raise UnknownSigningKey(f"signed by key {signer_key_id}, this side trusts key(s) {trusted} only")
        return key

    def verify(self, manifest_document: Mapping[str, Any], signature: BundleSignature) -> None:
        """Raises :class:`IntegrityError` unless a trusted key signed exactly this manifest."""
        try:
            self._key_for(signature.key_id).verify(signature.signature, signing_payload(manifest_document))
        except InvalidSignature:
            raise IntegrityError("signature does not match the manifest (tampered or wrong key)") from None

    def verify_pointer(self, payload: bytes, signature: PointerSignature) -> None:
        """Raises :class:`UnknownSigningKey` or :class:`IntegrityError` unless a trusted key signed it."""
        try:
            self._key_for(signature.key_id).verify(signature.signature, payload)
        except InvalidSignature:
            raise IntegrityError("signature does not match the pointer (edited or wrong key)") from None


def ensure_key_pair(directory: Path) -> tuple[str, str]:
    """The local default key pair kept in ``directory`` (var/local), generated on first use."""
    private_path, public_path = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    if private_path.exists():
        private = private_path.read_text(encoding="utf-8").strip()
        public = BundleSigner(private).public_key_b64
    else:
        directory.mkdir(parents=True, exist_ok=True)
        private, public = generate_key_pair()
        try:
            # O_EXCL: two processes starting together agree on the first key written.
            descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return ensure_key_pair(directory)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(private + "\n")
    if not public_path.exists() or public_path.read_text(encoding="utf-8").strip() != public:
        public_path.write_text(public + "\n", encoding="utf-8")
    return private, public
