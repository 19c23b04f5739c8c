"""Signed champion pointers, cloud side: seal, sign and write them; re-sign the live one before it expires.

* :func:`publish_pointer`: every pointer the registry writes (first champion, promotion,
  rollback, refresh) goes through here: it expires ``lifetime`` from now and names its
  version's bundle by the manifest digest, and is signed before it is written under the ETag;
* :func:`verified_champion`: the current pointer, only if a trusted key signed it;
* :func:`refresh_pointer`: the same champion under the next serial with a later expiry, once
  the live one expires within ``refresh_within`` (called from the retraining timer).

A pointer that does not verify (edited in storage, or written before pointers were signed)
is never re-signed as it stands: a refresh or a rollback refuses it, so an edit cannot be
laundered into a valid pointer. A promotion names its version explicitly and may go over it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from edgeloop.domain.bundle_integrity import manifest_digest
from edgeloop.domain.champion import ChampionPointer
from edgeloop.domain.manifest import MANIFEST_FILE
from edgeloop.domain.records import utc_now
from edgeloop.domain.signed_pointer import (
    PointerSignature,
    SignedPointer,
    VerifyPointer,
    check_signatures,
    pointer_payload,
)
from edgeloop.ports import ModelRegistry

SignPointer = Callable[[bytes], PointerSignature]
# A week: a site that stops hearing from the registry (or is fed one old pointer) says so after
# at most this long; the daily retraining timer re-signs once less than six days are left.
DEFAULT_POINTER_LIFETIME = timedelta(days=7)
DEFAULT_REFRESH_WITHIN = timedelta(days=6)


@dataclass(frozen=True)
class PointerSigning:
    sign: SignPointer
    verify: VerifyPointer  # the cloud's own key and, during a rotation, the previous one
    lifetime: timedelta = DEFAULT_POINTER_LIFETIME
    refresh_within: timedelta = DEFAULT_REFRESH_WITHIN


def publish_pointer(
    registry: ModelRegistry,
    pointer: ChampionPointer,
    etag: str | None,
    signing: PointerSigning,
    clock: Callable[[], datetime] = utc_now,
) -> SignedPointer:
    """Seal ``pointer`` (expiry, bundle digest), sign it, write it under ``etag``; RegistryConflict
    if the pointer changed meanwhile."""
    document = json.loads(registry.read(pointer.name, pointer.version, MANIFEST_FILE))
    sealed = pointer.sealed(clock() + signing.lifetime, manifest_digest(document))
    signed = SignedPointer(sealed, (signing.sign(pointer_payload(sealed)),))
    registry.set_champion(signed, etag)
    return signed


def verified_champion(
    registry: ModelRegistry, name: str, signing: PointerSigning
) -> tuple[SignedPointer, str] | None:
    """The current pointer and its ETag (None: no champion); PointerRefused if no trusted key signed it."""
    found = registry.signed_champion(name)
    if found is not None:
        check_signatures(found[0], signing.verify)
    return found


def refresh_pointer(
    registry: ModelRegistry,
    name: str,
    signing: PointerSigning,
    clock: Callable[[], datetime] = utc_now,
    *,
    now: bool = False,
) -> SignedPointer | None:
    """Re-sign the live pointer when it expires within ``refresh_within`` (or ``now``: at once, e.g.
    with a new key); None when there is nothing to do. PointerRefused if it does not verify;
    RegistryConflict if it changed meanwhile."""
    found = verified_champion(registry, name, signing)
    if found is None:
        return None
    signed, etag = found
    expires = signed.pointer.expires
    if not now and expires is not None and expires - clock() > signing.refresh_within:
        return None
    return publish_pointer(registry, signed.pointer.refreshed(), etag, signing, clock)
