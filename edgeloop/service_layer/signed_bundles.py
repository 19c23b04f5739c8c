"""Signed model bundles in memory: packing one for the registry, opening one at a site.

A bundle here is ``{file name: bytes}``: ``manifest.json`` (listing every other
file's sha256), ``signature.json`` (Ed25519 over the canonical manifest), the
model, its golden sample, and for registered versions the report, card and plots.
Opening checks, in order: the manifest digest the champion pointer names (when given), the
signature, the manifest schema, every file's hash, the golden sample's presence. Anything
wrong raises :class:`BundleRejected` naming it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from edgeloop.domain.bundle_integrity import (
    GOLDEN_FILE,
    SIGNATURE_FILE,
    BundleSignature,
    GoldenSample,
    IntegrityError,
    manifest_digest,
)
from edgeloop.domain.manifest import MANIFEST_FILE, ManifestError, ModelManifest

Sign = Callable[[Mapping[str, Any]], BundleSignature]
Verify = Callable[[Mapping[str, Any], BundleSignature], None]


class BundleRejected(ValueError):
    """A bundle a site must not serve; the message says which check failed."""


def pack_bundle(
    manifest_fields: Mapping[str, Any], files: Mapping[str, bytes], sign: Sign
) -> dict[str, bytes]:
    """Hash ``files`` into the manifest, validate it, sign it; returns every file of the bundle."""
    document = dict(manifest_fields)
    document["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    manifest = ModelManifest.from_dict(document)  # raises ManifestError naming the field
    manifest_document = manifest.to_dict()
    signature = sign(manifest_document)
    return {
        **files,
        MANIFEST_FILE: json.dumps(manifest_document, indent=2).encode("utf-8") + b"\n",
        SIGNATURE_FILE: json.dumps(signature.to_dict(), indent=2).encode("utf-8") + b"\n",
    }


def open_bundle(
    files: Mapping[str, bytes], verify: Verify, expected_digest: str | None = None
) -> tuple[ModelManifest, GoldenSample]:
    """Verify a fetched bundle; its manifest and golden sample, or :class:`BundleRejected`.

    ``expected_digest``: the manifest digest the signed champion pointer names; another
    manifest (even one validly signed) is not the bundle the pointer means."""
    document, signature = _read_manifest_and_signature(files)
    if expected_digest is not None and manifest_digest(document) != expected_digest:
        raise BundleRejected("manifest does not match the bundle digest in the signed champion pointer")
    try:
        verify(document, signature)
    except IntegrityError as exc:
        raise BundleRejected(f"bad signature: {exc}") from None
    try:
        manifest = ModelManifest.from_dict(document)
    except ManifestError as exc:
        raise BundleRejected(f"manifest schema mismatch: {exc}") from None
    _check_hashes(files, manifest)
    return manifest, _read_golden(files, manifest)


def _read_manifest_and_signature(files: Mapping[str, bytes]) -> tuple[dict[str, Any], BundleSignature]:
    for required in (MANIFEST_FILE, SIGNATURE_FILE):
        if required not in files:
            raise BundleRejected(f"{required} is missing from the bundle")
    try:
        document = json.loads(files[MANIFEST_FILE])
        signature = BundleSignature.from_dict(json.loads(files[SIGNATURE_FILE]))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleRejected(f"manifest or signature is not JSON: {exc}") from None
    except IntegrityError as exc:
        raise BundleRejected(str(exc)) from None
    if not isinstance(document, dict):
        raise BundleRejected(f"{MANIFEST_FILE} must hold a JSON object")
    return document, signature


def _check_hashes(files: Mapping[str, bytes], manifest: ModelManifest) -> None:
    for name, expected in manifest.files.items():
        data = files.get(name)
        if data is None:
            raise BundleRejected(f"{name}: listed in the manifest but missing")
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise BundleRejected(f"{name}: sha256 {actual} does not match the manifest ({expected})")


def _read_golden(files: Mapping[str, bytes], manifest: ModelManifest) -> GoldenSample:
    if GOLDEN_FILE not in manifest.files:
        raise BundleRejected(f"{GOLDEN_FILE} is not part of the signed bundle")
    try:
        return GoldenSample.from_dict(json.loads(files[GOLDEN_FILE]))
    except (json.JSONDecodeError, IntegrityError) as exc:
        raise BundleRejected(f"golden sample unreadable: {exc}") from None
