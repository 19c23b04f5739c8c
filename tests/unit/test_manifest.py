"""ModelManifest: round trip, loading, and a ManifestError naming the field for every invalid part."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.manifests import FAKE_SHA256, demo_manifest_dict

from edgeloop.domain.manifest import InputSpec, ManifestError, ModelManifest, load_manifest


def test_round_trip_is_lossless() -> None:
    manifest = ModelManifest.from_dict(demo_manifest_dict())
    again = ModelManifest.from_dict(json.loads(json.dumps(manifest.to_dict())))
    assert again == manifest
    assert again.to_dict() == manifest.to_dict()


def test_parsed_fields() -> None:
    manifest = ModelManifest.from_dict(demo_manifest_dict())
    assert manifest.feature_names == (
        "type",
        "air_temperature_k",
        "process_temperature_k",
        "rotational_speed_rpm",
        "torque_nm",
        "tool_wear_min",
    )
    assert manifest.output_names == ("failure_probability", "ood_score")
    assert manifest.input("type") == InputSpec("type", "category", "", "t", categories=("L", "M", "H"))
    torque = manifest.input("torque_nm")
    assert (torque.type, torque.unit, torque.min, torque.max) == ("number", "Nm", 3.0, 77.0)
    assert manifest.onnx_inputs[1].features[0] == "air_temperature_k"
    assert (manifest.risk_output, manifest.threshold) == ("failure_probability", 0.5)
    assert (manifest.ood_output, manifest.ood_threshold, manifest.ood_direction) == (
        "ood_score",
        10.0,
        "above",
    )
    assert manifest.files == {"model.onnx": FAKE_SHA256}


def test_optional_fields_default() -> None:
    document = demo_manifest_dict()
    for key in ("ood_output", "ood_threshold", "ood_direction", "metrics", "training_data", "description"):
        del document[key]
    del document["outputs"][1]
    del document["onnx_outputs"][1]
    manifest = ModelManifest.from_dict(document)
    assert manifest.ood_output is None
    assert manifest.ood_threshold is None
    assert manifest.ood_direction == "above"
    assert manifest.metrics == {}
    assert ModelManifest.from_dict(manifest.to_dict()) == manifest


def test_load_manifest_from_file_or_directory(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps(demo_manifest_dict()), encoding="utf-8")
    assert load_manifest(tmp_path) == load_manifest(tmp_path / "manifest.json")
    assert load_manifest(tmp_path).name == "ai4i-failure"


def test_load_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="does not exist") as missing:
        load_manifest(tmp_path)
    assert missing.value.field == "manifest"
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(tmp_path)


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(key: str) -> Mutation:
    return lambda document: document.pop(key)


def _delete_input_key(index: int, key: str) -> Mutation:
    return lambda document: document["inputs"][index].pop(key)


INVALID: list[tuple[str, Mutation, str]] = [
    ("not an object", lambda d: d.clear(), "name"),
    ("wrong format", _set("format", "other"), "format"),
    ("future format version", _set("format_version", 3), "format_version"),
    ("missing name", _delete("name"), "name"),
    ("blank name", _set("name", "  "), "name"),
    ("numeric version", _set("version", 1), "version"),
    ("blank version", _set("version", ""), "version"),
    ("bad created_at", _set("created_at", "yesterday"), "created_at"),
    ("files not object", _set("files", ["model.onnx"]), "files"),
    ("empty files", _set("files", {}), "files"),
    ("short sha256", _set("files", {"model.onnx": "abc"}), "files.model.onnx"),
    ("sha256 with a final newline", _set("files", {"model.onnx": FAKE_SHA256 + "\n"}), "files.model.onnx"),
    ("path in files", _set("files", {"../model.onnx": FAKE_SHA256}), "files.../model.onnx"),
    ("model file not listed", _set("model_file", "other.onnx"), "model_file"),
    ("no inputs", _set("inputs", []), "inputs"),
    ("input not object", _set("inputs.0", "type"), "inputs[0]"),
    ("input bad name", _set("inputs.1.name", "air temp"), "inputs[1].name"),
    ("name with a final newline", _set("inputs.1.name", "air_temperature_k\n"), "inputs[1].name"),
    ("input reserved name", _set("inputs.1.name", "operator"), "inputs[1].name"),
    ("input unknown type", _set("inputs.1.type", "integer"), "inputs[1].type"),
    ("number without min", _delete_input_key(1, "min"), "inputs[1].min"),
    ("min is a string", _set("inputs.1.min", "0"), "inputs[1].min"),
    ("max is a boolean", _set("inputs.1.max", True), "inputs[1].max"),
    ("max not finite", _set("inputs.1.max", float("inf")), "inputs[1].max"),
    ("min above max", _set("inputs.1.min", 400.0), "inputs[1].max"),
    ("category without categories", _delete_input_key(0, "categories"), "inputs[0].categories"),
    ("empty categories", _set("inputs.0.categories", []), "inputs[0].categories"),
    ("non-string category", _set("inputs.0.categories", ["L", 2]), "inputs[0].categories[1]"),
    ("repeated category", _set("inputs.0.categories", ["L", "L"]), "inputs[0].categories"),
    ("unit not a string", _set("inputs.1.unit", 5), "inputs[1].unit"),
    ("duplicate input", _set("inputs.2.name", "air_temperature_k"), "inputs"),
    ("no outputs", _set("outputs", []), "outputs"),
    ("output bad name", _set("outputs.0.name", "failure-probability"), "outputs[0].name"),
    ("duplicate output", _set("outputs.1.name", "failure_probability"), "outputs"),
    ("onnx input unknown feature", _set("onnx_inputs.0.features", ["kind"]), "onnx_inputs[0].features[0]"),
    ("onnx input bad dtype", _set("onnx_inputs.1.dtype", "int64"), "onnx_inputs[1].dtype"),
    ("category fed as float", _set("onnx_inputs.0.dtype", "float32"), "onnx_inputs[0].dtype"),
    ("number fed as string", _set("onnx_inputs.1.dtype", "string"), "onnx_inputs[1].dtype"),
    ("feature not mapped", _set("onnx_inputs.1.features", ["air_temperature_k"]), "onnx_inputs"),
    ("feature mapped twice", _set("onnx_inputs.1.features", ["torque_nm", "torque_nm"]), "onnx_inputs"),
    ("duplicate onnx input", _set("onnx_inputs.1.name", "type"), "onnx_inputs"),
    ("onnx output unknown", _set("onnx_outputs.0.output", "risk"), "onnx_outputs[0].output"),
    ("onnx output negative column", _set("onnx_outputs.0.column", -1), "onnx_outputs[0].column"),
    ("onnx output float column", _set("onnx_outputs.0.column", 1.0), "onnx_outputs[0].column"),
    ("output not mapped", lambda d: d["onnx_outputs"].pop(), "onnx_outputs"),
    ("unknown risk output", _set("risk_output", "risk"), "risk_output"),
    ("threshold a string", _set("threshold", "0.5"), "threshold"),
    ("threshold NaN", _set("threshold", float("nan")), "threshold"),
    ("unknown ood output", _set("ood_output", "distance"), "ood_output"),
    ("ood output is the risk", _set("ood_output", "failure_probability"), "ood_output"),
    ("ood without threshold", _delete("ood_threshold"), "ood_threshold"),
    ("ood direction", _set("ood_direction", "up"), "ood_direction"),
    ("metric not a number", _set("metrics", {"auc": "high"}), "metrics.auc"),
    ("training data not object", _set("training_data", []), "training_data"),
]


@pytest.mark.parametrize(("mutate", "field"), [(m, f) for _, m, f in INVALID], ids=[i for i, _, _ in INVALID])
def test_invalid_manifest_names_the_field(mutate: Mutation, field: str) -> None:
    document = demo_manifest_dict()
    mutate(document)
    with pytest.raises(ManifestError) as caught:
        ModelManifest.from_dict(document)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"manifest field {field}: ")


@pytest.mark.parametrize("document", [None, [], "manifest", 3])
def test_non_object_manifest(document: Any) -> None:
    with pytest.raises(ManifestError) as caught:
        ModelManifest.from_dict(document)
    assert caught.value.field == "manifest"
