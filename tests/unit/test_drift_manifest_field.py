"""The manifest's optional ``drift`` field: parsed, round-tripped, refused naming the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from support.manifests import demo_manifest_dict

from edgeloop.domain.drift import DriftProfile, Thresholds, category_profile, number_profile
from edgeloop.domain.manifest import ManifestError, ModelManifest, manifest_problems


def with_profile() -> dict[str, Any]:
    document = demo_manifest_dict()
    rng = np.random.default_rng(0)
    profile = DriftProfile(
        {
            "type": category_profile(("L", "M", "H"), np.array(["L", "M", "M", "H"] * 10, dtype=object)),
            "torque_nm": number_profile(rng.normal(40.0, 10.0, 2000)),
        },
        2000,
    )
    document["drift"] = profile.to_dict()
    return document


def test_a_manifest_without_a_profile_has_no_drift() -> None:
    assert ModelManifest.from_dict(demo_manifest_dict()).drift is None


def test_a_profile_round_trips_with_its_defaults_filled_in() -> None:
    document = with_profile()
    del document["drift"]["features"][1]["watch"]
    manifest = ModelManifest.from_dict(document)
    assert manifest.drift is not None
    assert set(manifest.drift.features) == {"type", "torque_nm"}
    assert manifest.drift.features["torque_nm"].thresholds == Thresholds(0.1, 0.25)
    again = ModelManifest.from_dict(json.loads(json.dumps(manifest.to_dict())))
    assert again == manifest


def test_thresholds_are_overridden_per_feature() -> None:
    document = with_profile()
    document["drift"]["features"][1].update({"statistic": "ks", "watch": 0.05, "drift": 0.4})
    manifest = ModelManifest.from_dict(document)
    assert manifest.drift is not None
    torque = manifest.drift.features["torque_nm"]
    assert (torque.statistic, torque.thresholds) == ("ks", Thresholds(0.05, 0.4))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document["drift"]
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return change


REFUSED = [
    (_set("features.1.name", "speed"), "drift.features[1].name", "not one of the inputs"),
    (_set("features.1.name", "type"), "drift.features[1].name", "profiled twice"),
    (_set("features.0.name", "torque_nm"), "drift.features[0].type", "number input"),
    (_set("features.1.type", "colour"), "drift.features[1].type", "must be one of"),
    (_set("features.1.edges", [3.0, 2.0]), "drift.features[1].edges", "strictly increasing"),
    (_set("features.1.proportions", [0.5, 0.5]), "drift.features[1].proportions", "one share per bin"),
    (_set("features.1.statistic", "chi2"), "drift.features[1].statistic", "must be 'psi' or 'ks'"),
    (_set("features.1.watch", 0.3), "drift.features[1].drift", "greater than watch"),
    (_set("features.1.drift", -1.0), "drift.features[1].drift", "must be > 0"),
    (_set("features.0.proportions", {"L": 0.5, "X": 0.5}), "drift.features[0].proportions.X", "categories"),
    (_set("features.0.proportions", {"L": 0.5, "M": 0.2}), "drift.features[0].proportions", "add up to 1"),
    (_set("features.0.proportions", {"L": 1.5}), "drift.features[0].proportions.L", "must be <= 1"),
    (_set("profiled_rows", 0), "drift.profiled_rows", "must be >= 1"),
    (_set("features", []), "drift.features", "must not be empty"),
]


@pytest.mark.parametrize(("change", "field", "words"), REFUSED)
def test_a_faulty_profile_is_refused_naming_its_field(
    change: Callable[[dict[str, Any]], None], field: str, words: str
) -> None:
    document = with_profile()
    change(document)
    with pytest.raises(ManifestError) as raised:
        ModelManifest.from_dict(document)
    assert raised.value.field == field, raised.value
    assert words in raised.value.message
    assert manifest_problems(document)[0].field == field


def test_ks_needs_quantiles() -> None:
    document = with_profile()
    document["drift"]["features"][1].update({"statistic": "ks", "quantiles": [1.0]})
    with pytest.raises(ManifestError) as raised:
        ModelManifest.from_dict(document)
    assert raised.value.field == "drift.features[1].quantiles"
