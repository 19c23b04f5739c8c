"""The shadow pointer's document and the champion pointer's rules applied to it (real Ed25519 keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edgeloop.adapters.ed25519_signing import BundleSigner, BundleVerifier, generate_key_pair
from edgeloop.domain.champion import ChampionError, ChampionPointer
from edgeloop.domain.shadow_pointer import (
    ShadowPointer,
    SignedShadowPointer,
    no_shadow,
    shadow_ledger_key,
    shadow_payload,
)
from edgeloop.domain.signed_pointer import PointerRefused, check_pointer, pointer_payload

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def signed(pointer: ShadowPointer, signer: BundleSigner) -> SignedShadowPointer:
    return SignedShadowPointer(pointer, (signer.sign_pointer(shadow_payload(pointer)),))


def test_the_document_round_trips_and_names_what_is_wrong() -> None:
    pointer = no_shadow("m").next("2.0.0", ("site-a", "site-b"), "cli", "ring 0").sealed(NOW, "ab" * 32)
    assert pointer.serial == 1
    assert SignedShadowPointer.from_dict(SignedShadowPointer(pointer).to_dict()).pointer == pointer
    assert pointer.applies_to("site-a")
    assert not pointer.applies_to("site-c")
    stopped = pointer.next(None, ("site-a",), "cli", "over")
    assert stopped.sites == ()
    assert not stopped.applies_to("site-a")
    for bad, message in (
        ({"format": "edgeloop.champion"}, "not a shadow pointer"),
        ({"format": "edgeloop.shadow", "name": "m", "version": ""}, "'version'"),
        ({"format": "edgeloop.shadow", "name": "m", "version": None, "sites": "a"}, "'sites'"),
        ({"format": "edgeloop.shadow", "name": "m", "version": None, "serial": -1}, "'serial'"),
    ):
        with pytest.raises(ChampionError, match=message):
            ShadowPointer.from_dict(bad)


def test_the_champion_rules_refuse_stale_expired_and_forged_shadow_pointers() -> None:
    private, public = generate_key_pair()
    signer, verify = BundleSigner(private), BundleVerifier(public).verify_pointer
    first = no_shadow("m").next("2.0.0", ("site-a",), "cli", "").sealed(NOW + timedelta(days=7), None)
    accepted = check_pointer(signed(first, signer), verify, None, "m", NOW, "shadow pointer")
    assert accepted.serial == 1
    second = first.next("3.0.0", ("site-a",), "cli", "").sealed(NOW + timedelta(days=7), None)
    newer = check_pointer(signed(second, signer), verify, accepted, "m", NOW, "shadow pointer")
    with pytest.raises(PointerRefused, match="shadow pointer serial 1 is older") as stale:
        check_pointer(signed(first, signer), verify, newer, "m", NOW, "shadow pointer")
    assert stale.value.kind == "stale"
    with pytest.raises(PointerRefused) as expired:
        check_pointer(signed(second, signer), verify, None, "m", NOW + timedelta(days=8), "shadow pointer")
    assert expired.value.kind == "expired"
    edited = SignedShadowPointer(
        second.next("4.0.0", ("site-a",), "x", ""), signed(second, signer).signatures
    )
    with pytest.raises(PointerRefused) as forged:
        check_pointer(edited, verify, None, "m", NOW, "shadow pointer")
    assert forged.value.kind == "forged"


def test_a_champion_pointers_signature_cannot_pass_for_a_shadow_pointers() -> None:
    private, public = generate_key_pair()
    signer, verify = BundleSigner(private), BundleVerifier(public).verify_pointer
    champion = ChampionPointer("m", "2.0.0", serial=1, expires=NOW + timedelta(days=1))
    shadow = ShadowPointer("m", "2.0.0", ("site-a",), 1, NOW + timedelta(days=1))
    borrowed = SignedShadowPointer(shadow, (signer.sign_pointer(pointer_payload(champion)),))
    with pytest.raises(PointerRefused) as refused:
        check_pointer(borrowed, verify, None, "m", NOW, "shadow pointer")
    assert refused.value.kind == "forged"
    assert shadow_ledger_key("m") != "m"  # its serials apart from the champion's
