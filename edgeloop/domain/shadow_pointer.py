"""The shadow pointer: which challenger the named sites score in shadow, beside their champion.

Stored as ``models/<name>/shadow.json`` in the same TUF envelope as the champion pointer
(edgeloop.domain.signed_pointer), signed behind a prefix of its own so a champion pointer's
signature can never pass for a shadow pointer's. The signed part carries the model, the
shadow ``version`` (null: shadowing stopped), the ``sites`` it applies to, a ``serial`` that
only grows and an ``expires`` time, plus the named version's manifest digest; a site applies
:func:`check_pointer`'s rules to it (stale, replayed, expired, forged pointers refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from edgeloop.domain.champion import ChampionError
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.records import RecordError, format_timestamp, parse_timestamp
from edgeloop.domain.signed_pointer import SignedEnvelope

SHADOW_POINTER_FORMAT = "edgeloop.shadow"
SHADOW_SIGNING_DOMAIN = b"edgeloop.shadow-pointer.signature.v1\n"
SHADOW_POINTER_WHAT = "shadow pointer"  # how refusals name it


@dataclass(frozen=True, slots=True)
class ShadowPointer:
    name: str
    version: str | None  # None: no challenger is shadowed (stopped)
    sites: tuple[str, ...] = ()
    serial: int = 0
    expires: datetime | None = None
    bundle_sha256: str | None = None
    actor: str = ""
    reason: str = ""

    def applies_to(self, site_id: str) -> bool:
        return self.version is not None and site_id in self.sites

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SHADOW_POINTER_FORMAT,
            "name": self.name,
            "version": self.version,
            "sites": list(self.sites),
            "serial": self.serial,
            "expires": None if self.expires is None else format_timestamp(self.expires),
            "bundle_sha256": self.bundle_sha256,
            "actor": self.actor,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ShadowPointer:
        if not isinstance(data, Mapping) or data.get("format") != SHADOW_POINTER_FORMAT:
            raise ChampionError(f"not a shadow pointer (format must be {SHADOW_POINTER_FORMAT!r})")
        name, version, sites = data.get("name"), data.get("version"), data.get("sites", [])
        if not isinstance(name, str) or not (version is None or (isinstance(version, str) and version)):
            raise ChampionError("shadow pointer needs a string 'name' and a string or null 'version'")
        if not isinstance(sites, list) or not all(isinstance(site, str) and site for site in sites):
            raise ChampionError("shadow pointer 'sites' must be a list of site ids")
        serial, expires, digest = data.get("serial", 0), data.get("expires"), data.get("bundle_sha256")
        if not isinstance(serial, int) or isinstance(serial, bool) or serial < 0:
            raise ChampionError("shadow pointer 'serial' must be a whole number >= 0")
        if not all(value is None or isinstance(value, str) for value in (expires, digest)):
            raise ChampionError("shadow pointer 'expires' and 'bundle_sha256' must be strings")
        try:
            expiry = None if expires is None else parse_timestamp(expires, "expires")
        except RecordError as exc:
            raise ChampionError(f"shadow pointer: {exc}") from None
        actor, reason = str(data.get("actor", "")), str(data.get("reason", ""))
        return cls(name, version, tuple(sites), serial, expiry, digest, actor, reason)

    def next(self, version: str | None, sites: tuple[str, ...], actor: str, reason: str) -> ShadowPointer:
        """The pointer that replaces this one (the next serial), to be sealed and signed."""
        return ShadowPointer(
            self.name, version, sites if version else (), self.serial + 1, None, None, actor, reason
        )

    def sealed(self, expires: datetime, bundle_sha256: str | None) -> ShadowPointer:
        return replace(self, expires=expires, bundle_sha256=bundle_sha256)


def no_shadow(name: str) -> ShadowPointer:
    """The state before any shadow pointer was written (serial 0: the first one written is 1)."""
    return ShadowPointer(name, None)


@dataclass(frozen=True, slots=True)
class SignedShadowPointer(SignedEnvelope[ShadowPointer]):
    signing_domain = SHADOW_SIGNING_DOMAIN
    what = SHADOW_POINTER_WHAT
    error = ChampionError

    @classmethod
    def read_body(cls, data: Any) -> ShadowPointer:
        return ShadowPointer.from_dict(data)


def shadow_payload(pointer: ShadowPointer) -> bytes:
    """The exact bytes that are signed for a shadow pointer."""
    return SignedShadowPointer.payload_of(pointer)


def shadow_ledger_key(name: str) -> str:
    """The pointer ledger's key for a model's shadow pointer (its serials apart from the champion's)."""
    return f"{name}#shadow"


def input_kind_mismatch(served: ModelManifest, shadow: ModelManifest) -> str | None:
    """Why ``shadow`` cannot score what ``served`` is given (images vs rows); None when it can.

    A shadow scores the very inputs the served model answered (the validated rows, or the decoded
    frames), so it must take the same kind; its own input spec (size, layout, features) may differ.
    """
    kinds = ["images" if manifest.image_input is not None else "rows" for manifest in (served, shadow)]
    if kinds[0] == kinds[1]:
        return None
    return (
        f"the shadow {shadow.name} {shadow.version} takes {kinds[1]}, the served model "
        f"{served.name} {served.version} takes {kinds[0]}: a shadow must take what the served model takes"
    )
