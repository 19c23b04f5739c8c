"""A detection model for tests whose every answer is known: a tiny real ONNX graph, no training.

``tiny_detection_bundle`` writes a bundle whose graph takes ``[N, 3, 16, 16]`` float32 and
proposes eight candidates per image, all of class ``stain``: the four 8 x 8 quadrants, scored
``1 - mean`` of the quadrant (a dark quadrant scores high), and the same four shifted by one
pixel right and down, scored 0.9 times as much (each overlaps its quadrant by IoU 49/79, so
non-maximum suppression must drop it). So an image with its top-left quadrant black holds one
detection, ``stain`` at ``[0, 0, 0.5, 0.5]`` scored 1.0. ``detection_manifest_dict`` is its
manifest (``task`` fields overridable), for the parser's tests.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeloop.training.bundle import write_bundle

CLASSES = ["stain", "glare"]
SIZE = 16
QUADRANTS = [[0, 0, 8, 8], [8, 0, 16, 8], [0, 8, 8, 16], [8, 8, 16, 16]]


def detection_manifest_dict(**task: Any) -> dict[str, Any]:
    """A valid format-2 manifest of the tiny detection model; ``task`` overrides the task's fields."""
    image = {"name": "image", "type": "image", "width": SIZE, "height": SIZE, "channels": 3}
    outputs = ("boxes", "classes", "scores")
    return {
        "format": "edgeloop.model-bundle",
        "format_version": 2,
        "name": "tiny-detection",
        "version": "1",
        "created_at": "2026-01-01T00:00:00Z",
        "files": {"model.onnx": "0" * 64},
        "model_file": "model.onnx",
        "inputs": [image],
        "outputs": [{"name": name} for name in outputs],
        "task": {
            "kind": "detection",
            "classes": CLASSES,
            "boxes_output": "boxes",
            "classes_output": "classes",
            "scores_output": "scores",
            "score_threshold": 0.5,
            "iou_threshold": 0.45,
            "max_detections": 4,
            "alert_classes": ["stain"],
            "min_confidence": 0.8,
            **task,
        },
        "onnx_inputs": [{"name": "image", "features": ["image"], "dtype": "float32"}],
        "onnx_outputs": [{"output": name, "name": name} for name in outputs],
    }


def candidate_boxes() -> npt.NDArray[np.float32]:
    quadrants = np.array(QUADRANTS, dtype=np.float32)
    return np.concatenate([quadrants, quadrants + 1.0])[None]


def tiny_detection_graph() -> bytes:
    constants = [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "channel_axis"),
        numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "per_image"),
        numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one"),
        numpy_helper.from_array(np.array([0.9], dtype=np.float32), "shifted_share"),
        numpy_helper.from_array(np.array([4], dtype=np.int64), "corners"),
        numpy_helper.from_array(candidate_boxes(), "candidates"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["image", "channel_axis"], ["grey"], keepdims=1),
        helper.make_node("AveragePool", ["grey"], ["quadrant_means"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("Reshape", ["quadrant_means", "per_image"], ["means"]),
        helper.make_node("Sub", ["one", "means"], ["darkness"]),
        helper.make_node("Mul", ["darkness", "shifted_share"], ["shifted"]),
        helper.make_node("Concat", ["darkness", "shifted"], ["scores"], axis=1),
        helper.make_node("Mul", ["scores", "zero"], ["classes"]),
        helper.make_node("Shape", ["scores"], ["score_shape"]),
        helper.make_node("Concat", ["score_shape", "corners"], ["box_shape"], axis=0),
        helper.make_node("Expand", ["candidates", "box_shape"], ["boxes"]),
    ]
    constants.append(numpy_helper.from_array(np.array([0.0], dtype=np.float32), "zero"))
    graph = helper.make_graph(
        nodes,
        "tiny_detection",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 3, SIZE, SIZE])],
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [None, 8, 4]),
            helper.make_tensor_value_info("classes", TensorProto.FLOAT, [None, 8]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 8]),
        ],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    serialized: bytes = model.SerializeToString()
    return serialized


def tiny_detection_bundle(out_dir: Path, **task: Any) -> Path:
    document = copy.deepcopy(detection_manifest_dict(**task))
    del document["files"]
    write_bundle(out_dir, document, {"model.onnx": tiny_detection_graph()})
    return out_dir


def quadrant_frame(dark: tuple[int, ...], level: int = 0) -> npt.NDArray[np.uint8]:
    """A white 16 x 16 frame with the quadrants ``dark`` (indices into QUADRANTS) at ``level``."""
    frame = np.full((SIZE, SIZE, 3), 255, dtype=np.uint8)
    for index in dark:
        x1, y1, x2, y2 = QUADRANTS[index]
        frame[y1:y2, x1:x2] = level
    return frame
