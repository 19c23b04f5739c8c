"""The detection demo's graph: fixed filters, per-window features, a logistic regression per window.

From the image tensor ``[N, 3, 96, 96]`` (pixels in [0, 1]): the fixed filter bank of the
classification demo (edgeloop.recipes.image_features: grey, shading taken away, oriented ridges,
a blob, bright and dark halves: 12 maps); then per window of 16 x 16 pixels, stepped by 8 (an
11 x 11 grid, 121 windows), the maps' mean and maximum over the window and over its central
8 x 8 cell. Those 48 numbers per window are :data:`FEATURES` ``[N, 48, 11, 11]``; the fitted
regression (standardisation folded in) runs on them as a 1 x 1 convolution, a softmax over
background and the classes follows, and the head writes per window its box (the window), its
best defect class and that class's probability: ``boxes`` ``[N, 121, 4]``, ``classes`` and
``scores`` ``[N, 121]``. Adjacent windows that see one defect overlap (IoU 1/3, diagonally 1/7):
non-maximum suppression after the graph keeps one of them. About 1.6 million multiply-adds an image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeloop.recipes.graph_parts import OPSET
from edgeloop.recipes.image_features import IMAGE_INPUT, filter_bank

SIZE = 96
WINDOW = 16
STRIDE = 8
GRID = (SIZE - WINDOW) // STRIDE + 1  # 11
CELL = (WINDOW - STRIDE) // 2  # the central cell starts this far into its window
FEATURES = "window_features"
BOXES, CLASSES, SCORES = "boxes", "classes", "scores"


def window_boxes() -> npt.NDArray[np.float32]:
    """``[GRID * GRID, 4]``: each window's corners, row by row."""
    starts = np.arange(GRID, dtype=np.float32) * STRIDE
    ys, xs = np.meshgrid(starts, starts, indexing="ij")
    corners = np.stack([xs, ys, xs + WINDOW, ys + WINDOW], axis=-1)
    return corners.reshape(-1, 4)


def _constant(name: str, values: npt.NDArray[np.generic]) -> onnx.TensorProto:
    return numpy_helper.from_array(values, name)


def feature_nodes() -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """Nodes from ``image`` to :data:`FEATURES` ``[N, 48, GRID, GRID]``."""
    grey = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)
    radius = filter_bank().shape[-1] // 2
    constants = [
        _constant("grey_weights", grey),
        _constant("filter_bank", filter_bank()),
        _constant("cell_starts", np.array([CELL, CELL], dtype=np.int64)),
        _constant("cell_ends", np.array([SIZE - CELL, SIZE - CELL], dtype=np.int64)),
        _constant("cell_axes", np.array([2, 3], dtype=np.int64)),
    ]
    window: dict[str, Any] = {"kernel_shape": [WINDOW, WINDOW], "strides": [STRIDE, STRIDE]}
    cell: dict[str, Any] = {"kernel_shape": [STRIDE, STRIDE], "strides": [STRIDE, STRIDE]}
    nodes = [
        helper.make_node("Conv", [IMAGE_INPUT, "grey_weights"], ["grey"]),
        helper.make_node(
            "AveragePool", ["grey"], ["shading"], kernel_shape=[7, 7], pads=[3, 3, 3, 3], count_include_pad=0
        ),
        helper.make_node("Sub", ["grey", "shading"], ["detail"]),
        helper.make_node("Conv", ["detail", "filter_bank"], ["responses"], pads=[radius] * 4),
        helper.make_node("Relu", ["responses"], ["bright"]),
        helper.make_node("Neg", ["responses"], ["negated"]),
        helper.make_node("Relu", ["negated"], ["dark"]),
        helper.make_node("Concat", ["bright", "dark"], ["maps"], axis=1),
        helper.make_node("AveragePool", ["maps"], ["window_mean"], **window),
        helper.make_node("MaxPool", ["maps"], ["window_max"], **window),
        helper.make_node("Slice", ["maps", "cell_starts", "cell_ends", "cell_axes"], ["cells"]),
        helper.make_node("AveragePool", ["cells"], ["cell_mean"], **cell),
        helper.make_node("MaxPool", ["cells"], ["cell_max"], **cell),
        helper.make_node(
            "Concat", ["window_mean", "window_max", "cell_mean", "cell_max"], [FEATURES], axis=1
        ),
    ]
    return nodes, constants


def feature_width() -> int:
    return 2 * len(filter_bank()) * 4


def head_nodes(
    weights: npt.NDArray[np.float64], bias: npt.NDArray[np.float64]
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """The regression per window (``weights`` ``[1 + classes, 48]`` on raw features), then the outputs."""
    n_outputs = weights.shape[0]
    constants = [
        _constant("head_weights", weights.astype(np.float32).reshape(n_outputs, -1, 1, 1)),
        _constant("head_bias", bias.astype(np.float32)),
        _constant("defect_starts", np.array([1], dtype=np.int64)),
        _constant("defect_ends", np.array([n_outputs], dtype=np.int64)),
        _constant("channel_axis", np.array([1], dtype=np.int64)),
        _constant("per_image", np.array([0, -1], dtype=np.int64)),
        _constant("box_corners", np.array([4], dtype=np.int64)),
        _constant("window_boxes", window_boxes()[None]),
    ]
    nodes = [
        helper.make_node("Conv", [FEATURES, "head_weights", "head_bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node(
            "Slice", ["probabilities", "defect_starts", "defect_ends", "channel_axis"], ["defects"]
        ),
        helper.make_node("ReduceMax", ["defects"], ["best"], axes=[1], keepdims=0),
        helper.make_node("ArgMax", ["defects"], ["best_class"], axis=1, keepdims=0),
        helper.make_node("Reshape", ["best", "per_image"], [SCORES]),
        helper.make_node("Reshape", ["best_class", "per_image"], ["class_indices"]),
        helper.make_node("Cast", ["class_indices"], [CLASSES], to=TensorProto.FLOAT),
        helper.make_node("Shape", [SCORES], ["score_shape"]),
        helper.make_node("Concat", ["score_shape", "box_corners"], ["box_shape"], axis=0),
        helper.make_node("Expand", ["window_boxes", "box_shape"], [BOXES]),
    ]
    return nodes, constants


def model(nodes: list[onnx.NodeProto], constants: list[onnx.TensorProto], outputs: list[str]) -> bytes:
    """A checked model from ``image`` to ``outputs`` (of :data:`FEATURES`, :data:`BOXES`, ...)."""
    image = helper.make_tensor_value_info(IMAGE_INPUT, TensorProto.FLOAT, [None, 3, SIZE, SIZE])
    windows = GRID * GRID
    shapes = {
        FEATURES: [None, feature_width(), GRID, GRID],
        BOXES: [None, windows, 4],
        CLASSES: [None, windows],
        SCORES: [None, windows],
    }
    values = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shapes[name]) for name in outputs]
    graph = helper.make_graph(nodes, "surface-detection", [image], values, constants)
    opsets = [helper.make_opsetid("", OPSET[""])]
    built = helper.make_model(graph, opset_imports=opsets, producer_name="edgeloop.recipes")
    built.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(built, full_check=True)
    serialized: bytes = built.SerializeToString()
    return serialized
