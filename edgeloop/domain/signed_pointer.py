"""Signed champion pointers, and the rules a site applies before it follows one.

The design is TUF's (The Update Framework, theupdateframework.io specification, client
workflow): the pointer is a metadata document in TUF's envelope, ``{"signed": {...},
"signatures": [{"keyid": ..., "sig": ...}]}``, whose signed part carries a number that only
grows (``serial``: TUF's metadata ``version``) and an ``expires`` time; the signature is
Ed25519 over a canonical form of the signed part behind a fixed domain prefix (the bundle
signature's scheme, another prefix, so neither can stand in for the other).

A site follows a pointer only if (:func:`check_pointer`), in TUF's order:

1. it names the site's model;
2. one of its signatures verifies with a key the site trusts (an unknown key or a signature
   that does not match is refused: forgeries, edits such as changing ``version`` by hand);
3. its serial is not below the highest the site accepted before, and an equal serial has the
   same content (a replayed older pointer, the rollback attack, is refused);
4. it has not expired (an attacker who keeps serving one old pointer, the freeze attack,
   can do so only until it expires; the registry re-signs the live one well before that).

Key rotation: the site trusts a set of keys; a pointer signed by any of them passes, so a new
key is added to the sites first, the cloud then signs with it, and the old key is removed.

Every pointer kind (champion here, edgeloop.domain.rollout_pointer, edgeloop.domain.shadow_pointer)
is a :class:`SignedEnvelope` with its own body and signing prefix: one envelope JSON, one way to
compute the signed bytes and digest. The rules read only a pointer's envelope (:class:`Envelope`:
name, serial, expiry, signed bytes), so every kind goes through the same checks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from edgeloop.domain.bundle_integrity import IntegrityError, canonical_json
from edgeloop.domain.champion import POINTER_FORMAT, ChampionError, ChampionPointer

POINTER_SIGNING_DOMAIN = b"edgeloop.champion-pointer.signature.v1\n"

RefusalKind = Literal["wrong_model", "unsigned", "unknown_key", "forged", "stale", "conflict", "expired"]


class UnknownSigningKey(IntegrityError):
    """A signature by a key this side does not trust (never trusted, or retired)."""


class PointerRefused(ValueError):
    """A pointer a site must not follow; ``kind`` says which rule refused it (for metrics)."""

    def __init__(self, kind: RefusalKind, message: str) -> None:
        super().__init__(message)
        self.kind: RefusalKind = kind


@dataclass(frozen=True, slots=True)
class PointerSignature:
    key_id: str  # first 16 hex of sha256(public key), as for bundles
    signature: bytes

    def to_dict(self) -> dict[str, str]:
        return {"keyid": self.key_id, "sig": base64.b64encode(self.signature).decode("ascii")}


class PointerBody(Protocol):
    """The signed part of a pointer, as far as the rules below read it."""

    @property
    def name(self) -> str: ...
    @property
    def serial(self) -> int: ...
    @property
    def expires(self) -> datetime | None: ...


class SignableBody(PointerBody, Protocol):
    """A pointer kind's signed part: what the rules read of it, and its document."""

    def to_dict(self) -> dict[str, Any]: ...


BodyT = TypeVar("BodyT", bound=SignableBody)
EnvelopeT = TypeVar("EnvelopeT", bound="SignedEnvelope[Any]")


@dataclass(frozen=True, slots=True)
class SignedEnvelope(Generic[BodyT]):
    """TUF's envelope around one pointer kind's body. A kind (a subclass) names its signing prefix
    (so no kind's signature passes for another's), how errors name it, its error type and how its
    body is read; the envelope's JSON, signed bytes and digest are the same for every kind."""

    signing_domain: ClassVar[bytes]
    what: ClassVar[str]
    error: ClassVar[type[ValueError]]

    pointer: BodyT
    signatures: tuple[PointerSignature, ...] = ()

    @classmethod
    def payload_of(cls, body: BodyT) -> bytes:
        """The exact bytes that are signed for ``body``."""
        return cls.signing_domain + canonical_json(body.to_dict())

    @classmethod
    def read_body(cls, data: Any) -> BodyT:
        raise NotImplementedError

    @property
    def payload(self) -> bytes:
        return self.payload_of(self.pointer)

    @property
    def digest(self) -> str:
        """sha256 of the signed bytes: tells two pointers with the same serial apart."""
        return hashlib.sha256(self.payload).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"signed": self.pointer.to_dict(), "signatures": [s.to_dict() for s in self.signatures]}

    @classmethod
    def from_dict(cls: type[EnvelopeT], data: Any) -> EnvelopeT:
        return read_envelope(cls, data)


def read_envelope(kind: type[EnvelopeT], data: Any) -> EnvelopeT:
    """``{"signed": ..., "signatures": [...]}`` as ``kind`` (its error type if malformed)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("signatures"), list):
        raise kind.error(f"not a signed {kind.what} (needs 'signed' and 'signatures')")
    signatures = tuple(read_signature(item, kind.what, kind.error) for item in data["signatures"])
    return kind(kind.read_body(data.get("signed")), signatures)


def read_signature(
    item: Any, what: str = "champion pointer", error: type[ValueError] = ChampionError
) -> PointerSignature:
    """One entry of an envelope's ``signatures`` (``error``, a ValueError, if malformed)."""
    if not isinstance(item, Mapping) or not isinstance(item.get("keyid"), str):
        raise error(f"{what} signatures need a string 'keyid'")
    try:
        return PointerSignature(item["keyid"], base64.b64decode(str(item.get("sig")), validate=True))
    except (binascii.Error, ValueError):
        raise error(f"{what} signature 'sig' is not base64") from None


@dataclass(frozen=True, slots=True)
class SignedPointer(SignedEnvelope[ChampionPointer]):
    """The champion pointer's envelope (``models/<name>/champion.json``)."""

    signing_domain = POINTER_SIGNING_DOMAIN
    what = "champion pointer"
    error = ChampionError

    @classmethod
    def read_body(cls, data: Any) -> ChampionPointer:
        return ChampionPointer.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> SignedPointer:
        """The envelope; a pointer written before pointers were signed reads as unsigned."""
        if isinstance(data, Mapping) and data.get("format") == POINTER_FORMAT:
            return cls(ChampionPointer.from_dict(data))
        return read_envelope(cls, data)


def pointer_payload(pointer: ChampionPointer) -> bytes:
    """The exact bytes that are signed for a champion pointer."""
    return SignedPointer.payload_of(pointer)


@dataclass(frozen=True, slots=True)
class AcceptedPointer:
    """What a site remembers of the newest pointer it followed (kept across restarts)."""

    serial: int
    digest: str
    expires: datetime


# Raises UnknownSigningKey for a key it does not trust, IntegrityError for a signature that fails.
VerifyPointer = Callable[[bytes, PointerSignature], None]


class Envelope(Protocol):
    """A signed pointer of any kind: its body, signatures, the signed bytes and their digest."""

    @property
    def pointer(self) -> PointerBody: ...
    @property
    def signatures(self) -> tuple[PointerSignature, ...]: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def digest(self) -> str: ...


def check_signatures(signed: Envelope, verify: VerifyPointer, what: str = "champion pointer") -> None:
    """Passes when one signature verifies with a trusted key; else :class:`PointerRefused`."""
    if not signed.signatures:
        raise PointerRefused("unsigned", f"{what} of {signed.pointer.name} is not signed")
    problems: list[IntegrityError] = []
    for signature in signed.signatures:
        try:
            verify(signed.payload, signature)
            return
        except IntegrityError as exc:
            problems.append(exc)
    if all(isinstance(problem, UnknownSigningKey) for problem in problems):
        raise PointerRefused("unknown_key", f"{what}: {problems[0]}")
    forged = next(problem for problem in problems if not isinstance(problem, UnknownSigningKey))
    raise PointerRefused("forged", f"{what}: {forged}")


def check_pointer(
    signed: Envelope,
    verify: VerifyPointer,
    last: AcceptedPointer | None,
    model_name: str,
    now: datetime,
    what: str = "champion pointer",
) -> AcceptedPointer:
    """What to remember of ``signed`` if a site may follow it; else :class:`PointerRefused`."""
    pointer = signed.pointer
    if pointer.name != model_name:
        raise PointerRefused("wrong_model", f"{what} names {pointer.name!r}, not {model_name!r}")
    check_signatures(signed, verify, what)
    if last is not None and pointer.serial < last.serial:
        raise PointerRefused(
            "stale",
            f"{what} serial {pointer.serial} is older than the last accepted ({last.serial}):"
            " a replayed or rolled back pointer",
        )
    if last is not None and pointer.serial == last.serial and signed.digest != last.digest:
        raise PointerRefused(
            "conflict", f"{what} serial {pointer.serial} was accepted before with other content"
        )
    if pointer.expires is None or now >= pointer.expires:
        when = "no expiry" if pointer.expires is None else f"expired at {pointer.expires.isoformat()}"
        raise PointerRefused("expired", f"{what} serial {pointer.serial}: {when}")
    return AcceptedPointer(pointer.serial, signed.digest, pointer.expires)
