"""The shadow pointer, cloud side: start or stop shadowing a challenger on named sites, signed.

* :func:`start_shadow`: a registered version, on ``sites``: the next serial, sealed with an
  expiry ``signing.lifetime`` from now and the version's manifest digest, signed, written
  under the ETag read (RegistryConflict if another writer won meanwhile);
* :func:`stop_shadow`: the next serial naming no version (every site drops its shadow);
  both name what they want explicitly, so they may go over a pointer that does not verify
  (edited in storage): logged, its serial continued, as a champion promotion does;
* :func:`current_shadow`: the pointer now, only if a trusted key signed it (PointerRefused if not);
* :func:`refresh_shadow`: the same pointer under the next serial with a later expiry, once it
  expires within ``signing.refresh_within`` (or at once), as the champion pointer's refresh.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from edgeloop.domain.bundle_integrity import manifest_digest
from edgeloop.domain.manifest import MANIFEST_FILE
from edgeloop.domain.records import utc_now
from edgeloop.domain.shadow_pointer import (
    SHADOW_POINTER_WHAT,
    ShadowPointer,
    SignedShadowPointer,
    no_shadow,
    shadow_payload,
)
from edgeloop.domain.signed_pointer import PointerRefused, check_signatures
from edgeloop.ports import ModelRegistry, ShadowPointers
from edgeloop.service_layer.champion_pointers import PointerSigning
from edgeloop.service_layer.model_publishing import UnknownVersion

logger = logging.getLogger(__name__)


def current_shadow(
    pointers: ShadowPointers, name: str, signing: PointerSigning
) -> tuple[SignedShadowPointer, str] | None:
    """The shadow pointer and its ETag (None: never written); PointerRefused if no trusted key signed it."""
    found = pointers.read(name)
    if found is not None:
        check_signatures(found[0], signing.verify, SHADOW_POINTER_WHAT)
    return found


def _replaced(
    pointers: ShadowPointers, name: str, signing: PointerSigning
) -> tuple[ShadowPointer, str | None]:
    """The pointer a new one replaces, and its ETag; one that does not verify is logged and gone over."""
    found = pointers.read(name)
    if found is None:
        return no_shadow(name), None
    try:
        check_signatures(found[0], signing.verify, SHADOW_POINTER_WHAT)
    except PointerRefused as exc:
        logger.warning("writing the shadow pointer of %s over one that does not verify: %s", name, exc)
    return found[0].pointer, found[1]


def _publish(
    pointers: ShadowPointers,
    registry: ModelRegistry,
    pointer: ShadowPointer,
    etag: str | None,
    signing: PointerSigning,
    clock: Callable[[], datetime],
) -> SignedShadowPointer:
    digest = None
    if pointer.version is not None:
        digest = manifest_digest(json.loads(registry.read(pointer.name, pointer.version, MANIFEST_FILE)))
    sealed = pointer.sealed(clock() + signing.lifetime, digest)
    signed = SignedShadowPointer(sealed, (signing.sign(shadow_payload(sealed)),))
    pointers.write(signed, etag)
    return signed


def start_shadow(
    pointers: ShadowPointers,
    registry: ModelRegistry,
    name: str,
    version: str,
    sites: Sequence[str],
    signing: PointerSigning,
    *,
    actor: str = "cli",
    reason: str = "",
    clock: Callable[[], datetime] = utc_now,
) -> SignedShadowPointer:
    """Shadow ``version`` on ``sites``; UnknownVersion if it is not registered, ValueError with no site."""
    if version not in registry.versions(name):
        raise UnknownVersion(f"{name} {version} is not registered")
    if not sites:
        raise ValueError("--sites: name at least one site to shadow on")
    current, etag = _replaced(pointers, name, signing)
    following = current.next(version, tuple(dict.fromkeys(sites)), actor, reason)
    return _publish(pointers, registry, following, etag, signing, clock)


def stop_shadow(
    pointers: ShadowPointers,
    registry: ModelRegistry,
    name: str,
    signing: PointerSigning,
    *,
    actor: str = "cli",
    reason: str = "",
    clock: Callable[[], datetime] = utc_now,
) -> SignedShadowPointer | None:
    """No site shadows any more (None: nothing was ever shadowed)."""
    if pointers.read(name) is None:
        return None
    current, etag = _replaced(pointers, name, signing)
    return _publish(pointers, registry, current.next(None, (), actor, reason), etag, signing, clock)


def refresh_shadow(
    pointers: ShadowPointers,
    registry: ModelRegistry,
    name: str,
    signing: PointerSigning,
    clock: Callable[[], datetime] = utc_now,
    *,
    now: bool = False,
) -> SignedShadowPointer | None:
    """Re-sign the live pointer when it expires within ``refresh_within`` (None: nothing to do)."""
    found = current_shadow(pointers, name, signing)
    if found is None:
        return None
    signed, etag = found
    pointer = signed.pointer
    if not now and pointer.expires is not None and pointer.expires - clock() > signing.refresh_within:
        return None
    following = pointer.next(pointer.version, pointer.sites, pointer.actor, pointer.reason)
    return _publish(pointers, registry, following, etag, signing, clock)
