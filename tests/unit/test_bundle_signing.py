"""Signing and verification of bundles (real Ed25519 keys) and the golden-sample comparison."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from edgeloop.adapters.ed25519_signing import BundleSigner, BundleVerifier, ensure_key_pair, generate_key_pair
from edgeloop.domain.bundle_integrity import (
    GoldenSample,
    golden_mismatches,
    manifest_digest,
    schema_rows,
    signing_payload,
)
from edgeloop.domain.manifest import load_manifest
from edgeloop.domain.manifest_specs import InputSpec
from edgeloop.service_layer.signed_bundles import BundleRejected, open_bundle, pack_bundle

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "var" / "models" / "demo"

GOLDEN = GoldenSample(
    rows=({"type": "L", "air_temperature_k": 300.0},),
    expected={"failure_probability": (0.25,), "ood_score": (2.0,)},
)


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return generate_key_pair()


@pytest.fixture(scope="module")
def bundle(keys: tuple[str, str]) -> dict[str, bytes]:
    manifest = json.loads((DEMO / "manifest.json").read_text())
    files = {
        "model.onnx": (DEMO / "model.onnx").read_bytes(),
        "golden.json": json.dumps(GOLDEN.to_dict()).encode(),
    }
    return pack_bundle(manifest, files, BundleSigner(keys[0]).sign)


def test_a_signed_bundle_opens_with_the_matching_public_key(keys: tuple[str, str], bundle: dict) -> None:
    manifest, golden = open_bundle(bundle, BundleVerifier(keys[1]).verify)
    assert manifest.name == "ai4i-failure"
    assert set(manifest.files) == {"model.onnx", "golden.json"}
    assert golden == GOLDEN


def test_a_tampered_file_is_rejected_naming_it(keys: tuple[str, str], bundle: dict) -> None:
    tampered = dict(bundle, **{"model.onnx": bundle["model.onnx"][:-1] + b"\x00"})
    with pytest.raises(BundleRejected, match=r"model\.onnx: sha256 .* does not match"):
        open_bundle(tampered, BundleVerifier(keys[1]).verify)


def test_a_tampered_manifest_breaks_the_signature(keys: tuple[str, str], bundle: dict) -> None:
    document = json.loads(bundle["manifest.json"])
    document["threshold"] = 0.99  # e.g. silence every alarm
    tampered = dict(bundle, **{"manifest.json": json.dumps(document).encode()})
    with pytest.raises(BundleRejected, match="bad signature"):
        open_bundle(tampered, BundleVerifier(keys[1]).verify)


def test_a_manifest_with_a_forged_hash_breaks_the_signature(keys: tuple[str, str], bundle: dict) -> None:
    forged = b"not a model"
    document = json.loads(bundle["manifest.json"])
    document["files"]["model.onnx"] = hashlib.sha256(forged).hexdigest()
    tampered = dict(bundle, **{"manifest.json": json.dumps(document).encode(), "model.onnx": forged})
    with pytest.raises(BundleRejected, match="bad signature"):
        open_bundle(tampered, BundleVerifier(keys[1]).verify)


def test_a_bundle_signed_with_another_key_is_rejected(bundle: dict) -> None:
    _, other_public = generate_key_pair()
    with pytest.raises(BundleRejected, match="trusts key"):
        open_bundle(bundle, BundleVerifier(other_public).verify)


def test_reformatting_the_manifest_keeps_the_signature_valid(keys: tuple[str, str], bundle: dict) -> None:
    document = json.loads(bundle["manifest.json"])
    compact = dict(bundle, **{"manifest.json": json.dumps(document, separators=(",", ":")).encode()})
    open_bundle(compact, BundleVerifier(keys[1]).verify)
    assert signing_payload(document).startswith(b"edgeloop.model-bundle.signature.v1\n{")


def test_a_manifest_schema_mismatch_is_rejected(keys: tuple[str, str]) -> None:
    signer = BundleSigner(keys[0])
    good = json.loads((DEMO / "manifest.json").read_text())
    bundle = pack_bundle(good, {"model.onnx": b"x", "golden.json": b"{}"}, signer.sign)
    document = json.loads(bundle["manifest.json"])
    del document["task"]
    signature = signer.sign(document)  # correctly signed, but not a valid manifest
    broken = dict(
        bundle,
        **{
            "manifest.json": json.dumps(document).encode(),
            "signature.json": json.dumps(signature.to_dict()).encode(),
        },
    )
    with pytest.raises(BundleRejected, match="manifest schema mismatch: manifest field task"):
        open_bundle(broken, BundleVerifier(keys[1]).verify)


def test_a_bundle_without_golden_sample_is_rejected(keys: tuple[str, str]) -> None:
    manifest = json.loads((DEMO / "manifest.json").read_text())
    bundle = pack_bundle(manifest, {"model.onnx": b"x"}, BundleSigner(keys[0]).sign)
    with pytest.raises(BundleRejected, match=r"golden\.json is not part of the signed bundle"):
        open_bundle(bundle, BundleVerifier(keys[1]).verify)


def test_golden_comparison_uses_absolute_plus_relative_tolerance() -> None:
    golden = GoldenSample(rows=({}, {}), expected={"p": (0.5, 100.0)}, abs_tolerance=1e-3, rel_tolerance=1e-2)
    assert golden_mismatches(golden, {"p": [0.5009, 100.9]}) == []
    problems = golden_mismatches(golden, {"p": [0.51, 102.0]})
    assert problems == [
        "output 'p' row 0: expected 0.5, got 0.51",
        "output 'p' row 1: expected 100, got 102",
    ]
    assert golden_mismatches(golden, {"p": [float("nan"), 100.0]})[0].startswith("output 'p' row 0")
    assert golden_mismatches(golden, {}) == ["output 'p' is missing"]


def test_local_key_pair_is_generated_once_and_private(tmp_path: Path) -> None:
    private, public = ensure_key_pair(tmp_path / "keys")
    assert ensure_key_pair(tmp_path / "keys") == (private, public)
    assert (tmp_path / "keys" / "model-signing.key").stat().st_mode & 0o077 == 0
    assert (tmp_path / "keys" / "model-signing.pub").read_text().strip() == public
    assert load_manifest(DEMO).name == "ai4i-failure"  # the fixture bundle exists (make model)


def test_a_signed_bundle_opens_only_under_the_digest_its_champion_pointer_names(
    keys: tuple[str, str], bundle: dict
) -> None:
    verify = BundleVerifier(keys[1]).verify
    digest = manifest_digest(json.loads(bundle["manifest.json"]))
    assert open_bundle(bundle, verify, digest)[0].name == "ai4i-failure"
    reformatted = {**bundle, "manifest.json": json.dumps(json.loads(bundle["manifest.json"])).encode()}
    assert open_bundle(reformatted, verify, digest)[0].name == "ai4i-failure"  # content, not bytes
    with pytest.raises(BundleRejected, match="does not match the bundle digest"):
        open_bundle(bundle, verify, "0" * 64)  # another validly signed bundle than the pointer means


def test_schema_rows_lie_inside_every_range_and_take_each_category_in_turn() -> None:
    inputs = (
        InputSpec("line", "category", categories=("A", "B", "C")),
        InputSpec("bounded", "number", min=2.0, max=4.0),
        InputSpec("from_below", "number", min=10.0),
        InputSpec("from_above", "number", max=-1.0),
        InputSpec("open", "number"),
    )
    rows = schema_rows(inputs, 4)
    assert [row["line"] for row in rows] == ["A", "B", "C", "A"]
    assert [row["bounded"] for row in rows] == [2.25, 2.75, 3.25, 3.75]
    assert [row["from_below"] for row in rows] == [10.0, 11.0, 12.0, 13.0]
    assert [row["from_above"] for row in rows] == [-1.0, -2.0, -3.0, -4.0]
    assert [row["open"] for row in rows] == [0.0, -1.0, -2.0, -3.0]
