"""A site follows the shadow pointer: fetch, verify, golden-check the challenger, hold it beside.

``poll_once`` (run by a ``DeliveryPoller`` beside the champion's) asks for ``models/<name>/shadow.json``
with a conditional request. A changed pointer passes the rules of a champion pointer first
(edgeloop.domain.signed_pointer.check_pointer: signed by a trusted key, not older than the last
accepted, not expired; its serials kept apart in the same ledger); a refused one is counted and
the site keeps what it holds. A pointer that names this site and a version: the bundle is fetched,
opened (signature, hashes, the digest the pointer names), written under ``<cache>/shadow/`` (never
the ``current`` bundle), loaded and golden-checked, refused when it takes another kind of input
than the served model (images vs rows: edgeloop.domain.shadow_pointer.input_kind_mismatch; shown
under ``rejected``), then set in the :class:`ShadowSlot`; one that
stops shadowing, or names other sites only, empties the slot. Nothing here touches the served model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from edgeloop.domain.records import format_timestamp, utc_now
from edgeloop.domain.shadow_pointer import (
    SHADOW_POINTER_WHAT,
    ShadowPointer,
    input_kind_mismatch,
    shadow_ledger_key,
)
from edgeloop.domain.signed_pointer import PointerRefused, VerifyPointer, check_pointer
from edgeloop.ports import ChampionSource, PointerLedger, ScoringModel, ShadowPointers, SourceUnavailable
from edgeloop.service_layer.bundle_cache import write_bundle
from edgeloop.service_layer.golden_check import check_golden
from edgeloop.service_layer.shadow_scoring import ShadowSlot
from edgeloop.service_layer.signed_bundles import BundleRejected, Verify, open_bundle

logger = logging.getLogger(__name__)

SHADOW_CACHE = "shadow"


class ShadowDelivery:
    def __init__(
        self,
        slot: ShadowSlot,
        pointers: ShadowPointers,
        source: ChampionSource,
        verify_pointer: VerifyPointer,
        ledger: PointerLedger,
        verify: Verify,
        load_model: Callable[[Path], ScoringModel],
        cache_dir: Path,
        model_name: str,
        site_id: str,
        clock: Callable[[], datetime] = utc_now,
        served: Callable[[], ScoringModel | None] = lambda: None,
    ) -> None:
        """``served``: the model the site serves now (None: none yet), whose input kind a shadow must take."""
        self._slot, self._pointers, self._source = slot, pointers, source
        self._verify_pointer, self._ledger, self._verify = verify_pointer, ledger, verify
        self._load, self._cache = load_model, cache_dir / SHADOW_CACHE
        self._name, self._site, self._clock, self._served = model_name, site_id, clock, served
        self._etag: str | None = None
        self._lock = threading.Lock()  # the figures below
        self._refusals: dict[str, int] = {}
        self._rejected: dict[str, str] = {}
        self._last_error: str | None = None
        self._pointer: ShadowPointer | None = None

    def poll_once(self) -> str:
        """One look at the shadow pointer; what happened (for logs and tests)."""
        try:
            update = self._pointers.poll(self._name, self._etag)
        except SourceUnavailable as exc:
            self._note_error(str(exc))
            return "offline"
        if update is None:
            return "unchanged"
        signed, etag = update
        key = shadow_ledger_key(self._name)
        try:
            accepted = check_pointer(
                signed, self._verify_pointer, self._ledger.last_accepted(key), self._name, self._clock(),
                SHADOW_POINTER_WHAT,
            )  # fmt: skip
        except PointerRefused as exc:
            self._etag = etag
            with self._lock:
                self._refusals[exc.kind] = self._refusals.get(exc.kind, 0) + 1
                self._last_error = f"{exc.kind}: {exc}"
            logger.error("shadow pointer refused, keeping what is held: %s", exc)
            return "refused"
        self._ledger.record_accepted(key, accepted)
        return self._follow(signed.pointer, etag)

    def _follow(self, pointer: ShadowPointer, etag: str) -> str:
        with self._lock:
            self._pointer = pointer
        if not pointer.applies_to(self._site) or pointer.version is None:
            self._etag = etag
            self._slot.set(None)
            return "stopped"
        held = self._slot.model
        if held is not None and held.manifest.version == pointer.version:
            self._etag = etag
            return "unchanged"
        try:
            model = self._install(pointer.version, pointer.bundle_sha256)
        except SourceUnavailable as exc:
            self._note_error(str(exc))
            return "offline"  # the etag is kept: the next poll tries again
        except BundleRejected as exc:
            self._etag = etag
            with self._lock:
                self._rejected[pointer.version] = str(exc)
            self._note_error(f"rejected {pointer.version}: {exc}")
            self._slot.set(None)
            return "rejected"
        self._etag = etag
        self._slot.set(model)
        logger.info("shadowing %s %s beside the served model", self._name, pointer.version)
        return "installed"

    def _install(self, version: str, digest: str | None) -> ScoringModel:
        files = self._source.fetch(self._name, version)
        manifest, golden = open_bundle(files, self._verify, digest)
        if manifest.name != self._name or manifest.version != version:
            raise BundleRejected(f"bundle says {manifest.name} {manifest.version}, the pointer {version}")
        bundle_dir = write_bundle(self._cache, version, files)
        try:
            model = self._load(bundle_dir)
        except (OSError, ValueError, RuntimeError) as exc:
            raise BundleRejected(f"cannot load the model: {exc}") from exc
        check_golden(model, golden)
        served = self._served()
        mismatch = None if served is None else input_kind_mismatch(served.manifest, model.manifest)
        if mismatch is not None:
            raise BundleRejected(mismatch)
        return model

    def _note_error(self, message: str) -> None:
        with self._lock:
            self._last_error = message

    def record_stop(self, error: BaseException) -> None:
        self._note_error(f"poller stopped: {type(error).__name__}: {error}")

    def status(self) -> dict[str, Any]:
        held = self._slot.model
        with self._lock:
            pointer = self._pointer
            return {
                "shadowing": None if held is None else held.manifest.version,
                "pointer_serial": None if pointer is None else pointer.serial,
                "pointer_expires": None
                if pointer is None or pointer.expires is None
                else format_timestamp(pointer.expires),
                "refusals": dict(self._refusals),
                "rejected": dict(self._rejected),
                "last_error": self._last_error,
            }
