"""Signed pointers written before the kinds shared one envelope still read and verify, byte for byte.

``pointer_samples/`` holds one pointer of each kind as the code wrote it then (signed with a key
whose private half was thrown away; only its public half is kept), so a change to the envelope
that moves a byte of the signed payload, its prefix or the JSON shape fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edgeloop.adapters.ed25519_signing import BundleVerifier
from edgeloop.domain.records import parse_timestamp
from edgeloop.domain.rollout_pointer import SignedRollout
from edgeloop.domain.shadow_pointer import SignedShadowPointer
from edgeloop.domain.signed_pointer import Envelope, PointerRefused, SignedPointer, check_pointer

SAMPLES = Path(__file__).parent / "pointer_samples"
# each kind: its envelope class, its signing prefix, how refusals name it
KINDS: dict[str, tuple[Any, bytes, str]] = {
    "champion": (SignedPointer, b"edgeloop.champion-pointer.signature.v1\n", "champion pointer"),
    "rollout": (SignedRollout, b"edgeloop.rollout-pointer.signature.v1\n", "rollout pointer"),
    "shadow": (SignedShadowPointer, b"edgeloop.shadow-pointer.signature.v1\n", "shadow pointer"),
}


def sample(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / f"{kind}.json").read_text())
    return loaded


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_pointer_in_the_old_wire_format_reads_verifies_and_writes_back_unchanged(kind: str) -> None:
    envelope_type, prefix, what = KINDS[kind]
    written = sample(kind)
    signed = envelope_type.from_dict(written["envelope"])
    assert signed.payload.startswith(prefix)
    assert signed.digest == written["digest"]
    assert signed.to_dict() == written["envelope"]
    now = parse_timestamp(written["checked_at"], "checked_at")
    verify = BundleVerifier(written["public_key"]).verify_pointer
    accepted = check_pointer(signed, verify, None, "m", now, what)
    assert (accepted.serial, accepted.digest) == (signed.pointer.serial, written["digest"])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_sample_signed_as_another_kind_is_refused_as_forged(kind: str) -> None:
    other = next(name for name in sorted(KINDS) if name != kind)
    written, borrowed = sample(kind), sample(other)
    envelope = {**written["envelope"], "signatures": borrowed["envelope"]["signatures"]}
    signed: Envelope = KINDS[kind][0].from_dict(envelope)
    now = parse_timestamp(written["checked_at"], "checked_at")
    with pytest.raises(PointerRefused) as refused:
        check_pointer(signed, BundleVerifier(written["public_key"]).verify_pointer, None, "m", now)
    assert refused.value.kind == "forged"


def test_a_champion_pointer_from_before_pointers_were_signed_reads_as_unsigned() -> None:
    written = sample("champion_unsigned")
    signed = SignedPointer.from_dict(written["envelope"])
    assert signed.signatures == ()
    assert signed.digest == written["digest"]
    assert signed.pointer.to_dict() == written["envelope"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_malformed_signature_is_refused_with_the_kinds_own_error_and_name(kind: str) -> None:
    envelope_type, _, what = KINDS[kind]
    envelope = {**sample(kind)["envelope"], "signatures": [{"keyid": "k", "sig": "%%"}]}
    with pytest.raises(envelope_type.error, match=f"^{what} signature 'sig' is not base64"):
        envelope_type.from_dict(envelope)
