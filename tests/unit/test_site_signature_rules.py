"""The rules of per-site blob signatures (edgeloop.domain.site_signatures) with real Ed25519 keys.

The signer and the keyring are the adapters (edgeloop.adapters.site_signing); the check is the
domain's. Properties: a signature passes for exactly the container, name, body and site it was
made for; anything else one of them changes is refused. Settings: a bad key names its setting.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeloop.adapters.ed25519_signing import SigningKeyError, generate_key_pair
from edgeloop.adapters.site_signing import SiteBlobSigner, SiteKeyring
from edgeloop.bootstrap.site_trust import signing_blobs
from edgeloop.config.frames import FrameSettings
from edgeloop.domain.bundle_integrity import SIGNING_DOMAIN
from edgeloop.domain.signed_pointer import POINTER_SIGNING_DOMAIN
from edgeloop.domain.site_signatures import (
    KEY_ID_METADATA,
    SIGNATURE_METADATA,
    SITE_BLOB_SIGNING_DOMAIN,
    SiteSignatureRefused,
    check_site_blob,
    refuse_foreign_records,
    site_of_blob,
)
from edgeloop.wire.storage_layout import frame_blob_name, records_blob_name

PRIVATE_A, PUBLIC_A = generate_key_pair()
PRIVATE_B, PUBLIC_B = generate_key_pair()
KEYRING = SiteKeyring({"plant a": [PUBLIC_A], "plant-b": [PUBLIC_B]})
SIGNER_A = SiteBlobSigner(PRIVATE_A, "plant a")

sites = st.sampled_from(["plant a", "plant-b", "plant/ü", "x"])
containers = st.sampled_from(["compliant", "anomalies", "frames"])
bodies = st.binary(max_size=64)


def name_of(site: str, digest: str = "0" * 32) -> str:
    return records_blob_name((site_segment(site), "2026-12-01", "10"), digest)


def site_segment(site: str) -> str:
    return frame_blob_name(site, "d", "f", "png").split("/", 1)[0].removeprefix("site=")


def refusal(container: str, name: str, body: bytes, metadata: dict[str, str]) -> str | None:
    try:
        check_site_blob(container, name, body, metadata, KEYRING)
    except SiteSignatureRefused as exc:
        return exc.kind
    return None


@given(site=sites)
def test_the_site_is_read_back_from_the_name_as_the_layout_quotes_it(site: str) -> None:
    assert site_of_blob(name_of(site)) == site
    assert site_of_blob(frame_blob_name(site, "2026-12-01", "f1", "jpg")) == site


@settings(max_examples=50)
@given(container=containers, body=bodies, other_body=bodies, other=containers)
def test_a_signature_passes_only_for_its_own_container_name_and_body(
    container: str, body: bytes, other_body: bytes, other: str
) -> None:
    name = name_of("plant a")
    metadata = SIGNER_A.sign(container, name, body).to_metadata()
    assert refusal(container, name, body, metadata) is None
    if other_body != body:
        assert refusal(container, name, other_body, metadata) == "forged"
    if other != container:
        assert refusal(other, name, body, metadata) == "forged"
    assert refusal(container, name_of("plant a", "1" * 32), body, metadata) == "forged"


@given(body=bodies)
def test_a_key_of_one_site_never_vouches_for_another_site(body: bytes) -> None:
    """Site a signing a blob it files under site b, over b's id even: b does not hold a's key."""
    name = name_of("plant-b")
    as_b = SiteBlobSigner(PRIVATE_A, "plant-b").sign("compliant", name, body).to_metadata()
    assert refusal("compliant", name, body, as_b) == "unknown_key"


def test_unsigned_malformed_unlisted_and_nameless_blobs_are_refused_by_rule() -> None:
    name = name_of("plant a")
    good = SIGNER_A.sign("compliant", name, b"x").to_metadata()
    assert refusal("compliant", name, b"x", {}) == "unsigned"
    assert refusal("compliant", name, b"x", {SIGNATURE_METADATA: good[SIGNATURE_METADATA]}) == "malformed"
    assert refusal("compliant", name, b"x", {**good, SIGNATURE_METADATA: "not base64!"}) == "malformed"
    assert refusal("compliant", "0123.jsonl.gz", b"x", good) == "no_site"
    unlisted = name_of("plant-c")
    as_c = SiteBlobSigner(PRIVATE_A, "plant-c").sign("compliant", unlisted, b"x").to_metadata()
    assert refusal("compliant", unlisted, b"x", as_c) == "unknown_key"


def test_metadata_names_are_read_whatever_their_case_and_are_identifiers() -> None:
    name = name_of("plant a")
    metadata = SIGNER_A.sign("compliant", name, b"x").to_metadata()
    assert all(key.isidentifier() and value.isascii() for key, value in metadata.items())
    upper = {key.upper(): value for key, value in metadata.items()}
    assert refusal("compliant", name, b"x", upper) is None
    assert metadata[KEY_ID_METADATA] == SIGNER_A.key_id


def test_the_signing_prefix_is_the_projects_own_for_site_blobs() -> None:
    prefixes = {SITE_BLOB_SIGNING_DOMAIN, SIGNING_DOMAIN, POINTER_SIGNING_DOMAIN}
    assert len(prefixes) == 3
    assert not any(a != b and a.startswith(b) for a in prefixes for b in prefixes)


def test_records_of_another_site_are_refused_in_a_blob_a_site_signed() -> None:
    refuse_foreign_records(["plant a", "plant a"], "plant a")
    with pytest.raises(SiteSignatureRefused, match="holds records of site None, plant-b") as error:
        refuse_foreign_records(["plant a", "plant-b", None], "plant a")
    assert error.value.kind == "foreign_records"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("not json", "EDGELOOP_SITE_PUBLIC_KEYS: not JSON"),
        ("[]", "expected a JSON object"),
        ('{"plant a": []}', "site 'plant a': expected a non-empty list"),
        ('{"plant a": ["AAAA"]}', "site 'plant a', key #1 must be a raw 32-byte Ed25519 key"),
    ],
)
def test_a_bad_public_keys_setting_names_the_setting_and_the_site(setting: str, message: str) -> None:
    with pytest.raises(SigningKeyError, match=message):
        SiteKeyring.from_setting(setting)


def test_two_keys_of_a_site_are_both_trusted_during_a_rotation() -> None:
    private_next, public_next = generate_key_pair()
    keyring = SiteKeyring.from_setting(orjson.dumps({"plant a": [PUBLIC_A, public_next]}).decode())
    name = name_of("plant a")
    for private in (PRIVATE_A, private_next):
        metadata = SiteBlobSigner(private, "plant a").sign("frames", name, b"y").to_metadata()
        assert check_site_blob("frames", name, b"y", metadata, keyring) == "plant a"


def test_a_bad_site_signing_key_stops_the_start_naming_the_setting() -> None:
    settings = FrameSettings.model_validate({"EDGELOOP_SITE_SIGNING_KEY": "not-a-key"})
    with pytest.raises(
        SigningKeyError, match="EDGELOOP_SITE_SIGNING_KEY: the site's private key is not base64"
    ):
        signing_blobs(_NoBlobs(), settings, "plant a")


class _NoBlobs:
    """Never written to: the key is refused before."""

    def put(self, container: str, name: str, data: bytes, **kwargs: object) -> str:
        raise AssertionError("nothing may be written")

    def get(self, container: str, name: str) -> bytes:
        raise AssertionError("nothing may be read")


def test_site_keygen_prints_a_pair_whose_public_half_is_the_clouds_entry() -> None:
    from typer.testing import CliRunner

    from edgeloop.cli.main import app

    result = CliRunner().invoke(app, ["models", "site-keygen", "--site", "plant-7"])
    assert result.exit_code == 0, result.output
    private_line, entry_line = result.output.strip().splitlines()
    private = private_line.split("=", 1)[1].split()[0]
    entry = orjson.loads(entry_line.split(": ", 1)[1])
    assert entry == {"plant-7": [SiteBlobSigner(private, "plant-7").public_key_b64]}
    keyring = SiteKeyring.from_setting(orjson.dumps(entry).decode())
    name = name_of("plant-7")
    metadata = SiteBlobSigner(private, "plant-7").sign("compliant", name, b"z").to_metadata()
    assert check_site_blob("compliant", name, b"z", metadata, keyring) == "plant-7"
