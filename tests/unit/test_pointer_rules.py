"""Signed champion pointers: the rules a site applies (edgeloop.domain.signed_pointer), with real
Ed25519 keys (edgeloop.adapters.ed25519_signing) and the site's SQLite ledger."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edgeloop.adapters.ed25519_signing import BundleSigner, BundleVerifier, SigningKeyError, generate_key_pair
from edgeloop.adapters.sqlite_pointer_ledger import SqlitePointerLedger
from edgeloop.domain.champion import ChampionError, ChampionPointer, first_pointer
from edgeloop.domain.signed_pointer import (
    AcceptedPointer,
    PointerRefused,
    SignedPointer,
    check_pointer,
    pointer_payload,
)

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
NAME = "m"


def sign(
    pointer: ChampionPointer, signer: BundleSigner, expires: datetime = NOW + timedelta(days=7)
) -> SignedPointer:
    sealed = pointer.sealed(expires, "ab" * 32)
    return SignedPointer(sealed, (signer.sign_pointer(pointer_payload(sealed)),))


@pytest.fixture
def signer() -> BundleSigner:
    return BundleSigner(generate_key_pair()[0])


def check(signed: SignedPointer, trusted: str, last: AcceptedPointer | None = None) -> AcceptedPointer:
    return check_pointer(signed, BundleVerifier(trusted).verify_pointer, last, NAME, NOW)


def refusal(signed: SignedPointer, trusted: str, last: AcceptedPointer | None = None) -> PointerRefused:
    with pytest.raises(PointerRefused) as caught:
        check(signed, trusted, last)
    return caught.value


def test_a_signed_current_pointer_is_accepted_and_survives_a_round_trip(signer: BundleSigner) -> None:
    signed = sign(first_pointer(NAME, "1", "start-up", "first", NOW), signer)
    stored = SignedPointer.from_dict(json.loads(json.dumps(signed.to_dict())))
    assert stored == signed
    accepted = check(stored, signer.public_key_b64)
    assert (accepted.serial, accepted.digest) == (1, signed.digest)
    assert accepted.expires == NOW + timedelta(days=7)


def test_editing_the_version_of_a_signed_pointer_is_refused_as_forged(signer: BundleSigner) -> None:
    first = first_pointer(NAME, "1", "start-up", "first", NOW)
    signed = sign(first.promoted("2", "run", "better", NOW), signer)
    document = signed.to_dict()
    document["signed"]["version"] = "1"  # the attack found from outside: only the version edited
    problem = refusal(SignedPointer.from_dict(document), signer.public_key_b64)
    assert problem.kind == "forged"
    assert "does not match" in str(problem)


def test_replayed_older_pointers_are_refused_and_a_rollback_is_a_newer_one(signer: BundleSigner) -> None:
    first = first_pointer(NAME, "1", "start-up", "first", NOW)
    old = sign(first, signer)
    promoted = first.promoted("2", "run", "better", NOW)
    last = check(sign(promoted, signer), signer.public_key_b64)
    problem = refusal(old, signer.public_key_b64, last)
    assert problem.kind == "stale"
    assert "serial 1 is older than the last accepted (2)" in str(problem)
    rolled_back = promoted.rolled_back("alice", "alarms", NOW)
    assert (rolled_back.version, rolled_back.serial) == ("1", 3)
    assert check(sign(rolled_back, signer), signer.public_key_b64, last).serial == 3


def test_the_same_pointer_again_passes_but_other_content_under_its_serial_does_not(
    signer: BundleSigner,
) -> None:
    pointer = first_pointer(NAME, "1", "start-up", "first", NOW)
    last = check(sign(pointer, signer), signer.public_key_b64)
    assert check(sign(pointer, signer), signer.public_key_b64, last) == last  # a restart polls it again
    other = replace(pointer, version="9")
    assert refusal(sign(other, signer), signer.public_key_b64, last).kind == "conflict"


def test_expired_unsigned_and_foreign_pointers_are_refused(signer: BundleSigner) -> None:
    pointer = first_pointer(NAME, "1", "start-up", "first", NOW)
    trusted = signer.public_key_b64
    assert refusal(sign(pointer, signer, expires=NOW), trusted).kind == "expired"
    assert (
        refusal(SignedPointer(pointer.sealed(NOW + timedelta(days=1), "ab" * 32)), trusted).kind == "unsigned"
    )
    legacy = SignedPointer.from_dict(pointer.to_dict())  # a pointer from before pointers were signed
    assert refusal(legacy, trusted).kind == "unsigned"
    stranger = BundleSigner(generate_key_pair()[0])
    problem = refusal(sign(pointer, stranger), trusted)
    assert problem.kind == "unknown_key"
    assert stranger.key_id in str(problem)
    assert refusal(sign(replace(pointer, name="other"), signer), trusted).kind == "wrong_model"


def test_key_rotation_the_new_key_is_trusted_beside_the_old_then_the_old_is_retired(
    signer: BundleSigner,
) -> None:
    new = BundleSigner(generate_key_pair()[0])
    first = first_pointer(NAME, "1", "start-up", "first", NOW)
    both = f"{signer.public_key_b64},{new.public_key_b64}"
    last = check(sign(first, signer), both)  # step 1: sites trust both; the live pointer is the old key's
    resigned = sign(first.refreshed(), new)  # step 2: the cloud signs with the new key
    last = check(resigned, both, last)
    assert check(resigned, new.public_key_b64, last) == last  # step 3: the old key retired
    problem = refusal(sign(first.refreshed().refreshed(), signer), new.public_key_b64, last)
    assert problem.kind == "unknown_key"  # a pointer from the retired key, however new, is refused


def test_trusted_key_lists_name_the_bad_entry() -> None:
    _, public = generate_key_pair()
    with pytest.raises(SigningKeyError, match="#2 is not base64"):
        BundleVerifier(f"{public}, not-a-key!")
    with pytest.raises(SigningKeyError, match="no signing public key"):
        BundleVerifier(" , ")


def test_pointer_documents_with_bad_fields_are_unreadable() -> None:
    pointer = first_pointer(NAME, "1", "start-up", "first", NOW).to_dict()
    for field, value in (("serial", -1), ("serial", "2"), ("expires", "soon"), ("bundle_sha256", 5)):
        with pytest.raises(ChampionError):
            ChampionPointer.from_dict({**pointer, field: value})
    with pytest.raises(ChampionError, match="signatures"):
        SignedPointer.from_dict({"signed": pointer})
    with pytest.raises(ChampionError, match="base64"):
        SignedPointer.from_dict({"signed": pointer, "signatures": [{"keyid": "k", "sig": "%%"}]})


def test_the_ledger_keeps_the_highest_accepted_serial_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = SqlitePointerLedger(path)
    assert ledger.last_accepted(NAME) is None
    ledger.record_accepted(NAME, AcceptedPointer(3, "c" * 64, NOW))
    ledger.record_accepted(NAME, AcceptedPointer(2, "b" * 64, NOW))  # lower: ignored
    reopened = SqlitePointerLedger(path)
    assert reopened.last_accepted(NAME) == AcceptedPointer(3, "c" * 64, NOW)
    reopened.record_accepted(NAME, AcceptedPointer(4, "d" * 64, NOW + timedelta(days=1)))
    assert ledger.last_accepted(NAME) == AcceptedPointer(4, "d" * 64, NOW + timedelta(days=1))
    assert ledger.last_accepted("other") is None
