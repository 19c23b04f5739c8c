"""The surface-defect demo's features, as ONNX nodes: fixed filters and pooling, no learned convolutions.

From the image tensor ``[N, 3, H, W]`` (pixels scaled to [0, 1]): grey (BT.601
weights, a 1x1 convolution); the surface's slow shading taken away (the grey minus its
7x7 local mean); a bank of fixed 5x5 filters, oriented ridges at 0, 45, 90 and 135
degrees (scratches, cracks), a Laplacian of Gaussian (spots) and the identity (the
texture itself); each response split into its bright and dark halves (Relu of it and
of its negation); then per map the global maximum, the global mean and the maximum of
its 4x4 block means (a line or a stain lights up a block, sensor noise does not). The
estimator (a logistic regression) is fitted on these features as the feature nodes
compute them (edgeloop.recipes.graph_parts.run_features), and runs after them in the
same graph. About 0.8 million multiply-adds an image: real-time on one core.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from onnx import TensorProto, helper, numpy_helper

from edgeloop.recipes.graph_parts import FEATURES, FeatureGraph

IMAGE_INPUT = "image"
_RADIUS = 2  # the filters are (2 * _RADIUS + 1) square
_POOLS = ("GlobalMaxPool", "GlobalAveragePool")


def _ridge(angle_degrees: float, sigma: float = 1.0) -> npt.NDArray[np.float64]:
    """A bright line's response along ``angle``: the negated second derivative of a Gaussian across it."""
    ys, xs = np.mgrid[-_RADIUS : _RADIUS + 1, -_RADIUS : _RADIUS + 1].astype(np.float64)
    angle = np.deg2rad(angle_degrees)
    across = -xs * np.sin(angle) + ys * np.cos(angle)
    kernel = (1.0 - across**2 / sigma**2) * np.exp(-(across**2) / (2 * sigma**2))
    centred: npt.NDArray[np.float64] = kernel - kernel.mean()
    return centred


def _blob(sigma: float = 1.2) -> npt.NDArray[np.float64]:
    """A bright spot's response: the negated Laplacian of a Gaussian, zero mean."""
    ys, xs = np.mgrid[-_RADIUS : _RADIUS + 1, -_RADIUS : _RADIUS + 1].astype(np.float64)
    squared = (xs**2 + ys**2) / (2 * sigma**2)
    kernel = (1.0 - squared) * np.exp(-squared)
    centred: npt.NDArray[np.float64] = kernel - kernel.mean()
    return centred


def filter_bank() -> npt.NDArray[np.float32]:
    """``[6, 1, 5, 5]``: four oriented ridges, a blob, the identity."""
    identity = np.zeros((2 * _RADIUS + 1, 2 * _RADIUS + 1))
    identity[_RADIUS, _RADIUS] = 1.0
    kernels = [_ridge(angle) for angle in (0.0, 45.0, 90.0, 135.0)] + [_blob(), identity]
    return np.stack(kernels)[:, None].astype(np.float32)


def feature_width() -> int:
    return 2 * len(filter_bank()) * (len(_POOLS) + 1)


def surface_features(height: int, width: int) -> FeatureGraph:
    """The feature nodes from ``image`` ``[N, 3, height, width]`` to ``features`` ``[N, feature_width()]``."""
    grey = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)
    constants = [
        numpy_helper.from_array(grey, "grey_weights"),
        numpy_helper.from_array(filter_bank(), "filter_bank"),
    ]
    nodes = [
        helper.make_node("Conv", [IMAGE_INPUT, "grey_weights"], ["grey"]),
        helper.make_node(
            "AveragePool", ["grey"], ["shading"], kernel_shape=[7, 7], pads=[3, 3, 3, 3], count_include_pad=0
        ),
        helper.make_node("Sub", ["grey", "shading"], ["detail"]),
        helper.make_node("Conv", ["detail", "filter_bank"], ["responses"], pads=[_RADIUS] * 4),
        helper.make_node("Relu", ["responses"], ["bright"]),
        helper.make_node("Neg", ["responses"], ["negated"]),
        helper.make_node("Relu", ["negated"], ["dark"]),
        helper.make_node("Concat", ["bright", "dark"], ["maps"], axis=1),
        helper.make_node("AveragePool", ["maps"], ["blocks"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("GlobalMaxPool", ["blocks"], ["block_max"]),
    ]
    pooled = [f"maps_{pool}" for pool in _POOLS]
    nodes += [helper.make_node(pool, ["maps"], [name]) for pool, name in zip(_POOLS, pooled, strict=True)]
    nodes += [
        helper.make_node("Concat", [*pooled, "block_max"], ["pooled"], axis=1),
        helper.make_node("Flatten", ["pooled"], [FEATURES], axis=1),
    ]
    image = helper.make_tensor_value_info(IMAGE_INPUT, TensorProto.FLOAT, [None, 3, height, width])
    return FeatureGraph([image], nodes, constants, feature_width())
