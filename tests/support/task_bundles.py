"""Real bundles of a multiclass and a regression model, built in milliseconds with onnx.helper.

Both take the demo's inputs (``type`` as a string column, the five sensors as one float32
``[N, 5]`` input; tests/support/manifests.py) and scale the sensors to ``z`` in [-1, 1] over
their ranges, so onnxruntime really runs a graph and a test can tell what it must answer:

- multiclass (failure modes ``none, TWF, HDF, PWF, OSF``): ``Softmax(z @ W + b)`` as one
  ``[N, 5]`` tensor, one column per class; each failure mode rises with one sensor (TWF tool
  wear, HDF process temperature, PWF speed, OSF torque), ``none`` has the bias. Alert
  classes HDF, PWF, OSF; low confidence below 0.35.
- regression (a wear rate in mm/h): ``torque / 30`` with an interval of -10 % / +10 %, as
  a ``[N, 3]`` tensor; out of band above 2.0.

Both add the demo's OOD score (the largest ``|z|``, keyed ``ood_score``, threshold 10: never
crossed by valid rows). ``*_reference`` compute the same in numpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from support.manifests import NUMERIC_RANGES, multiclass_manifest_dict, task_manifest_dict

from edgeloop.training.bundle import write_bundle

MODEL_FILE = "model.onnx"
CLASSES = ("none", "TWF", "HDF", "PWF", "OSF")
ALERT_CLASSES = ["HDF", "PWF", "OSF"]
MIN_CONFIDENCE = 0.35
WEAR_UNIT = "mm/h"
WEAR_BAND_HIGH = 2.0
_LOW = np.array([low for _, low, _ in NUMERIC_RANGES.values()], dtype=np.float32)
_HIGH = np.array([high for _, _, high in NUMERIC_RANGES.values()], dtype=np.float32)
_MID = (_LOW + _HIGH) / 2
_HALF = (_HIGH - _LOW) / 2
# Sensors in NUMERIC_RANGES order: air, process, speed, torque, tool wear.
_CLASS_WEIGHTS = np.zeros((5, 5), dtype=np.float32)
_CLASS_WEIGHTS[4, 1] = _CLASS_WEIGHTS[1, 2] = _CLASS_WEIGHTS[2, 3] = _CLASS_WEIGHTS[3, 4] = 3.0
_CLASS_BIAS = np.array([1.0, 0.0, 0.0, 0.0, 0.0], dtype=np.float32)
_WEAR_WEIGHTS = np.zeros((5, 3), dtype=np.float32)
_WEAR_WEIGHTS[3] = np.array([1.0, 0.9, 1.1], dtype=np.float32) / 30.0


def _sensors(rows: list[dict[str, Any]]) -> np.ndarray:
    return np.array([[row[name] for name in NUMERIC_RANGES] for row in rows], dtype=np.float32)


def multiclass_reference(rows: list[dict[str, Any]]) -> np.ndarray:
    """The class probabilities ``[N, 5]`` the multiclass graph gives for ``rows``."""
    logits = ((_sensors(rows) - _MID) / _HALF) @ _CLASS_WEIGHTS + _CLASS_BIAS
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return probabilities


def multiclass_predicted(rows: list[dict[str, Any]]) -> list[str]:
    """The class the multiclass graph predicts for each of ``rows``: its most probable."""
    return [CLASSES[int(index)] for index in np.argmax(multiclass_reference(rows), axis=1)]


def regression_reference(rows: list[dict[str, Any]]) -> np.ndarray:
    """The (value, lower, upper) ``[N, 3]`` the regression graph gives for ``rows``."""
    values: np.ndarray = _sensors(rows) @ _WEAR_WEIGHTS
    return values


def _graph(name: str, weights: np.ndarray, bias: np.ndarray, softmax: bool) -> onnx.ModelProto:
    tensor = "probabilities" if softmax else "values"
    nodes = [
        helper.make_node("Sub", ["numeric", "mid"], ["centered"]),
        helper.make_node("Div", ["centered", "half"], ["z"]),
        helper.make_node("Abs", ["z"], ["abs_z"]),
        helper.make_node("ReduceMax", ["abs_z"], ["ood_score"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["z" if softmax else "numeric", "weights"], ["linear"]),
        helper.make_node("Add", ["linear", "bias"], ["logits" if softmax else tensor]),
    ]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], [tensor], axis=1))
    graph = helper.make_graph(
        nodes,
        name,
        inputs=[
            helper.make_tensor_value_info("type", TensorProto.STRING, [None, 1]),  # unused, as allowed
            helper.make_tensor_value_info("numeric", TensorProto.FLOAT, [None, 5]),
        ],
        outputs=[
            helper.make_tensor_value_info(tensor, TensorProto.FLOAT, [None, weights.shape[1]]),
            helper.make_tensor_value_info("ood_score", TensorProto.FLOAT, [None]),
        ],
        initializer=[
            numpy_helper.from_array(_MID, "mid"),
            numpy_helper.from_array(_HALF, "half"),
            numpy_helper.from_array(weights, "weights"),
            numpy_helper.from_array(bias, "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def multiclass_fields(version: str = "1.0.0") -> dict[str, Any]:
    fields: dict[str, Any] = multiclass_manifest_dict(
        alert_classes=ALERT_CLASSES, min_confidence=MIN_CONFIDENCE
    )
    fields.update(name="failure-mode", version=version)
    return fields


def regression_fields(version: str = "1.0.0") -> dict[str, Any]:
    outputs = ["wear_rate", "wear_low", "wear_high"]
    task = {
        "kind": "regression",
        "value_output": "wear_rate",
        "lower_output": "wear_low",
        "upper_output": "wear_high",
        "band": {"low": None, "high": WEAR_BAND_HIGH},
        "unit": WEAR_UNIT,
    }
    fields: dict[str, Any] = task_manifest_dict(task, outputs)
    for output in fields["onnx_outputs"][: len(outputs)]:
        output["name"] = "values"
    fields.update(name="tool-wear-rate", version=version)
    return fields


def build_multiclass_bundle(out_dir: Path, version: str = "1.0.0") -> Path:
    graph = _graph("failure_mode", _CLASS_WEIGHTS, _CLASS_BIAS, softmax=True)
    write_bundle(out_dir, multiclass_fields(version), {MODEL_FILE: graph.SerializeToString()})
    return out_dir


def build_regression_bundle(out_dir: Path, version: str = "1.0.0") -> Path:
    graph = _graph("tool_wear_rate", _WEAR_WEIGHTS, np.zeros(3, dtype=np.float32), softmax=False)
    write_bundle(out_dir, regression_fields(version), {MODEL_FILE: graph.SerializeToString()})
    return out_dir
