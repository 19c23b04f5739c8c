"""Tiny training recipes for the tests: each fails in one way (or not), in well under a second.

They train nothing: the graph is a few ONNX ops over the demo's inputs (``type`` as a
string tensor, the five numbers as one float tensor), built with onnx.helper, so a
retraining run reaches the step under test fast. Entry points: ``support.tiny_recipes:NAME``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import onnx
from onnx import TensorProto, helper

from edgeloop.domain.recipes import RecipeResult, TrainingDataset

NUMBERS = ("air_temperature_k", "process_temperature_k", "rotational_speed_rpm", "torque_nm", "tool_wear_min")


def _graph(nan: bool) -> bytes:
    """risk = sigmoid(sum(numbers) * 0) (or 0/0 = NaN); ood = the same, a second output."""
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [
        helper.make_node("ReduceSum", ["numeric", "axes"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
    ]
    if nan:
        nodes.append(helper.make_node("Div", ["nothing", "nothing"], ["raw"]))
    else:
        nodes.append(helper.make_node("Identity", ["nothing"], ["raw"]))
    nodes += [
        helper.make_node("Sigmoid", ["raw"], ["failure_probability"]),
        helper.make_node("Identity", ["raw"], ["ood_score"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [
            helper.make_tensor_value_info("type", TensorProto.STRING, [None, 1]),
            helper.make_tensor_value_info("numeric", TensorProto.FLOAT, [None, 5]),
        ],
        [
            helper.make_tensor_value_info("failure_probability", TensorProto.FLOAT, [None]),
            helper.make_tensor_value_info("ood_score", TensorProto.FLOAT, [None]),
        ],
        initializer=[zero, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _fields(numeric_input: str = "numeric") -> dict[str, Any]:
    return {
        "description": "A tiny test model that predicts nothing useful.",
        "inputs": [
            {"name": "type", "type": "category", "unit": "", "categories": ["L", "M", "H"]},
            *({"name": name, "type": "number", "unit": "", "min": 0.0, "max": 100000.0} for name in NUMBERS),
        ],
        "outputs": [{"name": "failure_probability"}, {"name": "ood_score"}],
        "task": {"kind": "binary", "risk_output": "failure_probability", "threshold": 0.5},
        "ood_output": "ood_score",
        "ood_threshold": 10.0,
        "onnx_inputs": [
            {"name": "type", "features": ["type"], "dtype": "string"},
            {"name": numeric_input, "features": list(NUMBERS), "dtype": "float32"},
        ],
        "onnx_outputs": [
            {"output": "failure_probability", "name": "failure_probability", "column": None},
            {"output": "ood_score", "name": "ood_score", "column": None},
        ],
        "metrics": {},
    }


def constant(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    """A usable (if useless) model: every risk 0.5."""
    return RecipeResult(_graph(nan=False), _fields())


def raises(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    raise RuntimeError(f"the data scientist's bug ({dataset.n_rows} rows)")


def wrong_inputs(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    """The manifest names an ONNX input the graph does not have."""
    return RecipeResult(_graph(nan=False), _fields(numeric_input="numbers"))


def nan_outputs(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    return RecipeResult(_graph(nan=True), _fields())


def too_slow(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    time.sleep(float(parameters.get("seconds", 600)))
    return RecipeResult(_graph(nan=False), _fields())


def not_a_result(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> Any:
    return {"model": b""}
