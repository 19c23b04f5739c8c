"""Image model bundles for tests: a manifest document, a tiny real ONNX graph, the demo bundle.

``tiny_image_bundle`` writes a bundle whose graph is built here with onnx helper ops (no
training): it takes ``[N, 3, 8, 8]`` float32 and answers two classes, ``bright`` and
``dark``, by the image's mean (a softmax of ``[mean - 0.5, 0.5 - mean] * 20``). So a
test knows what every image must score, and onnxruntime really runs it.
``surface_bundle`` is the vision demo's (``var/models/surface-defects`` when built, else
trained into the test's folder: about half a minute).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper
from support.example_bundles import example_bundle

from edgeloop.training.bundle import write_bundle

CLASSES = ["bright", "dark"]
TINY_SIZE = 8


def image_manifest_dict(**image: Any) -> dict[str, Any]:
    """A valid format-2 manifest of a two-class image model; ``image`` overrides the input's fields."""
    spec = {"name": "image", "type": "image", "width": TINY_SIZE, "height": TINY_SIZE, "channels": 3}
    spec |= {"layout": "NCHW", "dtype": "float32", "resize": "stretch", **image}
    return {
        "format": "edgeloop.model-bundle",
        "format_version": 2,
        "name": "tiny-vision",
        "version": "1",
        "created_at": "2026-01-01T00:00:00Z",
        "files": {"model.onnx": "0" * 64},
        "model_file": "model.onnx",
        "inputs": [spec],
        "outputs": [{"name": "p_bright"}, {"name": "p_dark"}],
        "task": {
            "kind": "multiclass",
            "classes": CLASSES,
            "probability_outputs": ["p_bright", "p_dark"],
            "alert_classes": ["dark"],
            "min_confidence": 0.9,
        },
        "onnx_inputs": [{"name": "image", "features": ["image"], "dtype": spec["dtype"]}],
        "onnx_outputs": [
            {"output": "p_bright", "name": "probabilities", "column": 0},
            {"output": "p_dark", "name": "probabilities", "column": 1},
        ],
    }


def tiny_image_graph() -> bytes:
    """``image [N, 3, 8, 8]`` -> ``probabilities [N, 2]``: softmax(20 * [m - 0.5, 0.5 - m]), m the mean."""
    constants = [
        numpy_helper.from_array(np.array([[20.0, -20.0]], dtype=np.float32), "weights"),
        numpy_helper.from_array(np.array([-10.0, 10.0], dtype=np.float32), "bias"),
        numpy_helper.from_array(np.array([1, 2, 3], dtype=np.int64), "axes"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["image", "axes"], ["mean"], keepdims=0),
        helper.make_node("Unsqueeze", ["mean", "one"], ["mean_column"]),
        helper.make_node("MatMul", ["mean_column", "weights"], ["scaled"]),
        helper.make_node("Add", ["scaled", "bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    constants.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "one"))
    graph = helper.make_graph(
        nodes,
        "tiny_vision",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 3, TINY_SIZE, TINY_SIZE])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    serialized: bytes = model.SerializeToString()
    return serialized


def tiny_image_bundle(out_dir: Path) -> Path:
    document = copy.deepcopy(image_manifest_dict())
    del document["files"]
    write_bundle(out_dir, document, {"model.onnx": tiny_image_graph()})
    return out_dir


def tiny_expected_dark(frames: list[npt.NDArray[np.uint8]]) -> list[bool]:
    """Which frames the tiny model must call dark (the mean pixel below half)."""
    return [float(frame.mean()) / 255.0 < 0.5 for frame in frames]


def surface_bundle(work_dir: Path) -> Path:
    return example_bundle("surface-defects", work_dir)
