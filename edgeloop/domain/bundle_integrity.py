"""What a bundle's signature covers, and the golden-sample check a site runs before a swap.

Signature: Ed25519 over a canonical form of the parsed ``manifest.json`` (keys
sorted, no spaces, UTF-8) behind a fixed domain prefix. The manifest lists the
sha256 of every other file, so verifying the signature and then each file's
hash covers the whole bundle; re-formatting the JSON does not break it, any
change of content does. The signature lives in ``signature.json`` beside it.

Golden sample: ``golden.json`` in the bundle holds input rows and the outputs
the model produced for them at training time; a site loads the model, scores
the rows and compares within a tolerance before serving it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edgeloop.domain.manifest_specs import InputSpec

SIGNATURE_FILE = "signature.json"
GOLDEN_FILE = "golden.json"
SIGNATURE_FORMAT = "edgeloop.bundle-signature"
GOLDEN_FORMAT = "edgeloop.golden-sample"
SIGNING_DOMAIN = b"edgeloop.model-bundle.signature.v1\n"


class IntegrityError(ValueError):
    """A signature or golden document that is malformed, or a check that failed."""


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def manifest_digest(manifest_document: Mapping[str, Any]) -> str:
    """sha256 of the canonical manifest: names a bundle's exact content (signed pointers carry it)."""
    return hashlib.sha256(canonical_json(dict(manifest_document))).hexdigest()


def signing_payload(manifest_document: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed for a manifest (the decoded ``manifest.json`` object)."""
    return SIGNING_DOMAIN + canonical_json(dict(manifest_document))


@dataclass(frozen=True, slots=True)
class BundleSignature:
    key_id: str  # first 16 hex of sha256(public key): says which key signed, before trying it
    signature: bytes
    algorithm: str = "ed25519"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SIGNATURE_FORMAT,
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: Any) -> BundleSignature:
        if not isinstance(data, Mapping) or data.get("format") != SIGNATURE_FORMAT:
            raise IntegrityError(f"{SIGNATURE_FILE}: format must be {SIGNATURE_FORMAT!r}")
        if data.get("algorithm") != "ed25519":
            raise IntegrityError(f"{SIGNATURE_FILE}: algorithm must be 'ed25519'")
        key_id, text = data.get("key_id"), data.get("signature")
        if not isinstance(key_id, str) or not isinstance(text, str):
            raise IntegrityError(f"{SIGNATURE_FILE}: key_id and signature must be strings")
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise IntegrityError(f"{SIGNATURE_FILE}: signature is not base64") from None
        return cls(key_id, raw)


@dataclass(frozen=True, slots=True)
class GoldenSample:
    rows: tuple[Mapping[str, Any], ...]
    expected: Mapping[str, tuple[float, ...]]  # output name -> one value per row
    abs_tolerance: float = 1e-5
    rel_tolerance: float = 1e-4

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": GOLDEN_FORMAT,
            "rows": [dict(row) for row in self.rows],
            "expected": {name: list(values) for name, values in self.expected.items()},
            "tolerance": {"abs": self.abs_tolerance, "rel": self.rel_tolerance},
        }

    @classmethod
    def from_dict(cls, data: Any) -> GoldenSample:
        if not isinstance(data, Mapping) or data.get("format") != GOLDEN_FORMAT:
            raise IntegrityError(f"{GOLDEN_FILE}: format must be {GOLDEN_FORMAT!r}")
        rows, expected = data.get("rows"), data.get("expected")
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise IntegrityError(f"{GOLDEN_FILE}: rows must be a non-empty list of objects")
        if not isinstance(expected, dict) or not expected:
            raise IntegrityError(f"{GOLDEN_FILE}: expected must map output names to values")
        parsed: dict[str, tuple[float, ...]] = {}
        for name, values in expected.items():
            if not isinstance(values, list) or len(values) != len(rows):
                raise IntegrityError(f"{GOLDEN_FILE}: expected.{name} must hold one value per row")
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                raise IntegrityError(f"{GOLDEN_FILE}: expected.{name} must hold numbers")
            parsed[str(name)] = tuple(float(v) for v in values)
        tolerance = data.get("tolerance", {})
        if not isinstance(tolerance, dict):
            raise IntegrityError(f"{GOLDEN_FILE}: tolerance must be an object")
        return cls(
            tuple(rows),
            parsed,
            float(tolerance.get("abs", 1e-5)),
            float(tolerance.get("rel", 1e-4)),
        )


def golden_mismatches(
    golden: GoldenSample, actual: Mapping[str, Sequence[float]], limit: int = 5
) -> list[str]:
    """Differences beyond tolerance (``|a - e| <= abs + rel * |e|``), described; empty means it passed."""
    problems: list[str] = []
    for name, expected in golden.expected.items():
        values = actual.get(name)
        if values is None:
            problems.append(f"output {name!r} is missing")
            continue
        if len(values) != len(expected):
            problems.append(f"output {name!r}: {len(values)} values for {len(expected)} rows")
            continue
        for row, (want, got) in enumerate(zip(expected, values, strict=True)):
            allowed = golden.abs_tolerance + golden.rel_tolerance * abs(want)
            if not math.isfinite(got) or abs(got - want) > allowed:
                problems.append(f"output {name!r} row {row}: expected {want:.6g}, got {got:.6g}")
                if len(problems) >= limit:
                    return problems
    return problems


def schema_rows(inputs: Sequence[InputSpec], count: int) -> list[dict[str, Any]]:
    """``count`` rows inside the input schema: each number spread over its range (from its
    bound, or 0), each category in turn. The golden rows of a bundle that brings no data."""
    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    for spec in inputs:
        for index, row in enumerate(rows):
            if spec.type != "number":
                categories = spec.categories or ("",)
                row[spec.name] = categories[index % len(categories)]
            elif spec.min is not None and spec.max is not None:
                row[spec.name] = spec.min + (spec.max - spec.min) * (index + 0.5) / count
            elif spec.min is not None:
                row[spec.name] = spec.min + index
            else:
                row[spec.name] = (0.0 if spec.max is None else spec.max) - index
    return rows
