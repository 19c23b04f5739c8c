"""The manifest's JSON Schema: generated from the parser's document model, published in docs/,
and in agreement with the parser (validated with the ``jsonschema`` package, draft 2020-12).

- Every valid document of every task kind (formats 1 and 2): the parser and the schema accept it.
- Every single-field fault (a value of another type or breaking a pattern or an enum, a key or
  item dropped, a key renamed): the schema refuses it exactly when the parser's document pass
  does, and the parser then names the faulty field (or a sibling the fault made required).
- The rules only the parser checks (PARSER_RULES, listed in the schema's description): one
  example each that the schema accepts and the parser refuses, naming the field.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import assume, given, settings
from jsonschema import Draft202012Validator
from support.detection_bundles import detection_manifest_dict
from support.image_bundles import image_manifest_dict
from support.manifest_documents import Path, field_name, manifest_documents, single_field_faults
from support.manifests import demo_manifest_dict, multiclass_manifest_dict, regression_manifest_dict

from edgeloop.domain.manifest import ManifestError, ModelManifest
from edgeloop.domain.manifest_document import PARSER_RULES
from edgeloop.domain.manifest_schema import manifest_json_schema
from edgeloop.domain.manifest_validation import structural_problems
from tools.manifest_schema import SCHEMA_FILE, schema_text

VALIDATOR = Draft202012Validator(manifest_json_schema())


def test_the_published_schema_is_what_the_code_generates() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "stale: run `make schema`"


def test_the_schema_is_a_valid_draft_2020_12_schema_listing_the_parser_s_rules() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert all(rule in schema["description"] for rule in PARSER_RULES)


def _parser_refusal(document: Any) -> ManifestError | None:
    try:
        ModelManifest.from_dict(document)
    except ManifestError as exc:
        return exc
    return None


@settings(max_examples=150, deadline=None)
@given(manifest_documents())
def test_the_schema_accepts_every_document_the_parser_accepts(document: dict[str, Any]) -> None:
    assert _parser_refusal(document) is None
    assert VALIDATOR.is_valid(document), [error.message for error in VALIDATOR.iter_errors(document)]
    written = ModelManifest.from_dict(document).to_dict()  # and what the code writes back
    assert VALIDATOR.is_valid(json.loads(json.dumps(written)))


@settings(max_examples=400, deadline=None)
@given(single_field_faults())
def test_a_single_field_fault_is_refused_by_the_schema_exactly_when_the_parser_s_first_pass_refuses_it(
    fault: tuple[dict[str, Any], Path, str],
) -> None:
    document, path, _ = fault
    assume(path != ("created_at",))  # an ISO 8601 timestamp: a rule the schema cannot state
    schema_accepts = VALIDATOR.is_valid(document)
    structural = structural_problems(document)
    assert schema_accepts == (not structural), (schema_accepts, structural)
    if structural:
        refusal = _parser_refusal(document)
        assert refusal is not None
        assert refusal.field == structural[0].field
        parent = field_name(path[:-1])
        assert refusal.field.startswith(parent), (refusal.field, path)


def _binary_v2(**task: Any) -> dict[str, Any]:
    document = demo_manifest_dict()
    del document["risk_output"], document["threshold"]
    task = {"kind": "binary", "risk_output": "failure_probability", "threshold": 0.5, **task}
    return {**document, "format_version": 2, "task": task}


def _with_number_input(document: dict[str, Any]) -> dict[str, Any]:
    document["inputs"].append({"name": "speed", "type": "number", "min": 0.0, "max": 1.0})
    document["onnx_inputs"].append({"name": "speed", "features": ["speed"], "dtype": "float32"})
    return document


def _with(document: dict[str, Any], *path: str | int, value: Any) -> dict[str, Any]:
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


_NUMBER_INPUT = {"name": "image", "type": "number", "min": 0.0, "max": 1.0}


def _with_drift(**feature: Any) -> dict[str, Any]:
    profile = {"name": "torque_nm", "type": "number", "edges": [40.0], "proportions": [0.5, 0.5], **feature}
    return {**demo_manifest_dict(), "drift": {"profiled_rows": 10, "features": [profile]}}


# One example per rule of PARSER_RULES: (the document, the field the parser names).
PARSER_ONLY: dict[str, list[tuple[dict[str, Any], str]]] = {
    PARSER_RULES[0]: [(_with(demo_manifest_dict(), "threshold", value=math.nan), "threshold")],
    PARSER_RULES[1]: [
        (_with(demo_manifest_dict(), "onnx_outputs", 0, "column", value=1.0), "onnx_outputs[0].column")
    ],
    PARSER_RULES[2]: [(_with(demo_manifest_dict(), "created_at", value="yesterday"), "created_at")],
    PARSER_RULES[3]: [(_with(demo_manifest_dict(), "model_file", value="other.onnx"), "model_file")],
    PARSER_RULES[4]: [
        (_with(demo_manifest_dict(), "inputs", 2, "name", value="air_temperature_k"), "inputs"),
        (_with(demo_manifest_dict(), "outputs", 1, "name", value="failure_probability"), "outputs"),
    ],
    PARSER_RULES[5]: [
        (_with(demo_manifest_dict(), "inputs", 1, "min", value=400.0), "inputs[1].max"),
        (_with(demo_manifest_dict(), "inputs", 0, "categories", value=["L", "L"]), "inputs[0].categories"),
    ],
    PARSER_RULES[6]: [
        (
            _with(demo_manifest_dict(), "onnx_inputs", 0, "features", value=["kind"]),
            "onnx_inputs[0].features[0]",
        ),
        (_with(demo_manifest_dict(), "onnx_inputs", 1, "features", value=["torque_nm"]), "onnx_inputs"),
        (_with(demo_manifest_dict(), "onnx_inputs", 1, "name", value="type"), "onnx_inputs"),
    ],
    PARSER_RULES[7]: [
        (_with(demo_manifest_dict(), "onnx_inputs", 0, "dtype", value="float32"), "onnx_inputs[0].dtype")
    ],
    PARSER_RULES[8]: [
        (_with(demo_manifest_dict(), "onnx_outputs", 0, "output", value="risk"), "onnx_outputs[0].output"),
        (
            _with(demo_manifest_dict(), "onnx_outputs", 1, "output", value="failure_probability"),
            "onnx_outputs",
        ),
    ],
    PARSER_RULES[9]: [
        (_with(demo_manifest_dict(), "risk_output", value="risk"), "risk_output"),
        (_binary_v2(risk_output="risk"), "task.risk_output"),
        (
            multiclass_manifest_dict(probability_outputs=["p_none", "p_twf", "p_hdf", "p_pwf", "x"]),
            "task.probability_outputs[4]",
        ),
        (regression_manifest_dict(value_output="nope"), "task.value_output"),
    ],
    PARSER_RULES[10]: [
        (multiclass_manifest_dict(classes=["a", "a", "b", "c", "d"]), "task.classes"),
        (multiclass_manifest_dict(probability_outputs=["p_none"]), "task.probability_outputs"),
        (multiclass_manifest_dict(alert_classes=["XXX"]), "task.alert_classes[0]"),
    ],
    PARSER_RULES[11]: [
        (regression_manifest_dict(lower_output="wear_rate"), "task.upper_output"),
        (regression_manifest_dict(band={"low": 3, "high": 1}), "task.band.high"),
    ],
    PARSER_RULES[12]: [(_binary_v2(label_names=["same", "same"]), "task.label_names")],
    PARSER_RULES[13]: [
        (_with(demo_manifest_dict(), "ood_output", value="failure_probability"), "ood_output"),
        ({k: v for k, v in demo_manifest_dict().items() if k != "ood_threshold"}, "ood_threshold"),
    ],
    PARSER_RULES[14]: [
        ({**multiclass_manifest_dict(), "evaluation": {"primary_metric": "mae"}}, "evaluation.primary_metric")
    ],
    PARSER_RULES[15]: [
        (_with_number_input(image_manifest_dict()), "inputs"),
        (_with(image_manifest_dict(), "onnx_inputs", 0, "dtype", value="uint8"), "onnx_inputs[0].dtype"),
    ],
    PARSER_RULES[16]: [
        (image_manifest_dict(normalisation={"mean": [0.1, 0.2]}), "inputs[0].normalisation.mean"),
        (image_manifest_dict(dtype="uint8", normalisation={}), "inputs[0].normalisation"),
    ],
    PARSER_RULES[17]: [
        (_with_drift(name="type"), "drift.features[0].type"),
        (_with_drift(proportions=[0.2, 0.2]), "drift.features[0].proportions"),
        (_with_drift(watch=0.5), "drift.features[0].drift"),
    ],
    PARSER_RULES[18]: [
        (_with(detection_manifest_dict(), "inputs", 0, value=_NUMBER_INPUT), "task.kind"),
        (detection_manifest_dict(classes_output="boxes"), "task"),
        (detection_manifest_dict(classes=["stain", "stain"]), "task.classes"),
        (detection_manifest_dict(alert_classes=["rust"]), "task.alert_classes[0]"),
        (detection_manifest_dict(min_confidence=0.1), "task.min_confidence"),
    ],
}


def test_every_parser_rule_has_an_example() -> None:
    assert list(PARSER_ONLY) == list(PARSER_RULES)


@pytest.mark.parametrize(
    ("document", "field"),
    [example for examples in PARSER_ONLY.values() for example in examples],
    ids=[
        f"rule{index}-{field}" for index, examples in enumerate(PARSER_ONLY.values()) for _, field in examples
    ],
)
def test_a_rule_only_the_parser_checks_passes_the_schema_and_is_refused_naming_the_field(
    document: dict[str, Any], field: str
) -> None:
    assert VALIDATOR.is_valid(document)
    refusal = _parser_refusal(document)
    assert refusal is not None
    assert refusal.field == field
