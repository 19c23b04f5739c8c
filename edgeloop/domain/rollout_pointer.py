"""The signed rollout pointer, ``models/<name>/rollout.json``: which version each site serves.

It carries the whole rollout state (edgeloop.domain.rollout) in the champion pointer's TUF
envelope and goes through the same rules (edgeloop.domain.signed_pointer.check_pointer: a
trusted key, a serial that only grows, an expiry) under its own signing prefix, so a champion
pointer's signature can never stand in for a rollout pointer's. ``bundles`` names every
version the rollout may send a site to (candidate, previous, pins) by its manifest digest, as
the champion pointer's ``bundle_sha256`` does. A site remembers the newest rollout pointer it
accepted in the same ledger as champion pointers, under :func:`ledger_key`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from edgeloop.domain.records import RecordError, format_timestamp, parse_timestamp
from edgeloop.domain.rollout import RolloutError, RolloutState
from edgeloop.domain.rollout_documents import state_from_dict, state_to_dict
from edgeloop.domain.signed_pointer import SignedEnvelope

ROLLOUT_FORMAT = "edgeloop.rollout"
ROLLOUT_SIGNING_DOMAIN = b"edgeloop.rollout-pointer.signature.v1\n"
WHAT = "rollout pointer"


def ledger_key(model_name: str) -> str:
    """The PointerLedger row of a model's rollout pointer (beside its champion pointer's)."""
    return f"{model_name}#rollout"


@dataclass(frozen=True, slots=True)
class RolloutPointer:
    state: RolloutState
    serial: int = 1
    expires: datetime | None = None
    bundles: Mapping[str, str] = field(default_factory=dict)  # version -> manifest sha256

    @property
    def name(self) -> str:
        return self.state.name

    def versions(self) -> tuple[str, ...]:
        """Every version a site may be sent to under this rollout."""
        return tuple(sorted({self.state.candidate, self.state.previous, *self.state.pins.values()}))

    def next(self, state: RolloutState) -> RolloutPointer:
        """``state`` under the next serial (to be sealed again)."""
        return RolloutPointer(state, self.serial + 1)

    def sealed(self, expires: datetime, bundles: Mapping[str, str]) -> RolloutPointer:
        return replace(self, expires=expires, bundles=dict(bundles))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": ROLLOUT_FORMAT,
            "serial": self.serial,
            "expires": None if self.expires is None else format_timestamp(self.expires),
            "bundles": dict(sorted(self.bundles.items())),
            "rollout": state_to_dict(self.state),
        }

    @classmethod
    def from_dict(cls, data: Any) -> RolloutPointer:
        if not isinstance(data, Mapping) or data.get("format") != ROLLOUT_FORMAT:
            raise RolloutError(f"not a rollout pointer (format must be {ROLLOUT_FORMAT!r})")
        serial, expires, bundles = data.get("serial"), data.get("expires"), data.get("bundles", {})
        if not isinstance(serial, int) or isinstance(serial, bool) or serial < 1:
            raise RolloutError("rollout pointer 'serial' must be a whole number >= 1")
        if not isinstance(bundles, Mapping) or not all(isinstance(v, str) for v in bundles.values()):
            raise RolloutError("rollout pointer 'bundles' must map versions to digests")
        try:
            expiry = None if expires is None else parse_timestamp(str(expires), "expires")
        except RecordError as exc:
            raise RolloutError(f"rollout pointer: {exc}") from None
        return cls(state_from_dict(data.get("rollout")), serial, expiry, dict(bundles))


@dataclass(frozen=True, slots=True)
class SignedRollout(SignedEnvelope[RolloutPointer]):
    signing_domain = ROLLOUT_SIGNING_DOMAIN
    what = WHAT
    error = RolloutError

    @classmethod
    def read_body(cls, data: Any) -> RolloutPointer:
        return RolloutPointer.from_dict(data)


def rollout_payload(pointer: RolloutPointer) -> bytes:
    """The exact bytes that are signed for a rollout pointer."""
    return SignedRollout.payload_of(pointer)
