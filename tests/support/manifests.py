"""Pure manifest fixtures for unit tests (no ONNX, no files): shaped like the demo bundle's."""

from __future__ import annotations

import copy
from typing import Any

from edgeloop.domain.manifest import ModelManifest

FAKE_SHA256 = "0" * 64
NUMERIC_RANGES = {
    "air_temperature_k": ("K", 290.6, 309.2),
    "process_temperature_k": ("K", 301.6, 317.9),
    "rotational_speed_rpm": ("rpm", 309.0, 3745.0),
    "torque_nm": ("Nm", 3.0, 77.0),
    "tool_wear_min": ("min", 0.0, 379.5),
}
# A typical in-distribution row of the AI4I data (its first row).
TYPICAL_ROW: dict[str, Any] = {
    "type": "M",
    "air_temperature_k": 298.1,
    "process_temperature_k": 308.6,
    "rotational_speed_rpm": 1551,
    "torque_nm": 42.8,
    "tool_wear_min": 0,
}


def demo_manifest_dict() -> dict[str, Any]:
    """A valid manifest document like the demo's (fresh copy each call, safe to mutate)."""
    numeric = [
        {"name": name, "type": "number", "unit": unit, "min": low, "max": high, "description": name}
        for name, (unit, low, high) in NUMERIC_RANGES.items()
    ]
    document = {
        "format": "edgeloop.model-bundle",
        "format_version": 1,
        "name": "ai4i-failure",
        "version": "1.0.0",
        "created_at": "2026-01-01T00:00:00Z",
        "description": "test manifest",
        "files": {"model.onnx": FAKE_SHA256},
        "model_file": "model.onnx",
        "inputs": [
            {
                "name": "type",
                "type": "category",
                "unit": "",
                "categories": ["L", "M", "H"],
                "description": "t",
            },
            *numeric,
        ],
        "outputs": [
            {"name": "failure_probability", "description": "risk"},
            {"name": "ood_score", "description": "distance"},
        ],
        "risk_output": "failure_probability",
        "threshold": 0.5,
        "ood_output": "ood_score",
        "ood_threshold": 10.0,
        "ood_direction": "above",
        "onnx_inputs": [
            {"name": "type", "features": ["type"], "dtype": "string"},
            {"name": "numeric", "features": list(NUMERIC_RANGES), "dtype": "float32"},
        ],
        "onnx_outputs": [
            {"output": "failure_probability", "name": "failure_probability", "column": None},
            {"output": "ood_score", "name": "ood_score", "column": None},
        ],
        "metrics": {"test_roc_auc": 0.97},
        "training_data": {"rows": 8000, "positives": 271},
    }
    return copy.deepcopy(document)


def demo_manifest(**overrides: Any) -> ModelManifest:
    document = demo_manifest_dict()
    document.update(overrides)
    return ModelManifest.from_dict(document)


def task_manifest_dict(task: dict[str, Any], outputs: list[str]) -> dict[str, Any]:
    """A format 2 manifest of the demo's inputs with ``task`` over ``outputs`` (plus the OOD score)."""
    document = demo_manifest_dict()
    del document["risk_output"], document["threshold"]
    names = [*outputs, "ood_score"]
    document["format_version"] = 2
    document["task"] = task
    document["outputs"] = [{"name": name, "description": name} for name in names]
    document["onnx_outputs"] = [
        {"output": name, "name": "probabilities", "column": index} for index, name in enumerate(outputs)
    ] + [{"output": "ood_score", "name": "ood_score", "column": None}]
    return document


FAILURE_MODES = ["none", "TWF", "HDF", "PWF", "OSF"]


def multiclass_manifest_dict(**task: Any) -> dict[str, Any]:
    outputs = [f"p_{name.lower()}" for name in FAILURE_MODES]
    spec = {"kind": "multiclass", "classes": FAILURE_MODES, "probability_outputs": outputs, **task}
    return task_manifest_dict(spec, outputs)


def regression_manifest_dict(**task: Any) -> dict[str, Any]:
    spec = {"kind": "regression", "value_output": "wear_rate", "band": {"low": 0.0, "high": 2.0}, **task}
    return task_manifest_dict(spec, ["wear_rate"])
