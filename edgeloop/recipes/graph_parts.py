"""ONNX building blocks the example recipes share: a feature subgraph, a fitted core, an OOD score.

A recipe writes its feature engineering once, as ONNX nodes; :func:`run_features` runs
those nodes with onnxruntime to get the matrix the estimator is fitted on, so the
graph a site runs and the rows the estimator saw cannot disagree. :func:`compose`
joins the feature nodes, the estimator skl2onnx converted, and any nodes after it
into one checked model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.covariance import MinCovDet

OPSET = {"": 17, "ai.onnx.ml": 3}
FEATURES = "features"  # the estimator's input, as the feature nodes produce it
OOD_OUTPUT = "ood_score"


@dataclass(frozen=True)
class FeatureGraph:
    """Graph inputs, the nodes that turn them into ``features`` ``[N, width]``, and their constants."""

    inputs: Sequence[onnx.ValueInfoProto]
    nodes: Sequence[onnx.NodeProto]
    initializers: Sequence[onnx.TensorProto]
    width: int


@dataclass(frozen=True)
class RobustDistance:
    """Mahalanobis distance from a robust (MCD) centre: ``||(x - center) @ whitening||``."""

    center: npt.NDArray[np.float64]
    whitening: npt.NDArray[np.float64]  # lower Cholesky factor of the precision matrix

    @classmethod
    def fit(cls, values: npt.NDArray[Any], seed: int) -> RobustDistance:
        # MCD, not a plain covariance: the failures and outliers in the data must not widen it.
        mcd = MinCovDet(random_state=seed).fit(np.asarray(values, dtype=np.float64))
        return cls(mcd.location_, np.linalg.cholesky(mcd.precision_))

    def score(self, values: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        whitened = (np.asarray(values, dtype=np.float64) - self.center) @ self.whitening
        distances: npt.NDArray[np.float64] = np.sqrt(np.sum(whitened * whitened, axis=1))
        return distances

    def threshold(self, values: npt.NDArray[Any], quantile: float) -> float:
        """The score that ``quantile`` of ``values`` (the training rows) stay under, rounded up."""
        return float(np.ceil(np.quantile(self.score(values), quantile) * 1e4) / 1e4)

    def nodes(self, source: str) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
        """Nodes computing ``ood_score`` ``[N]`` from graph tensor ``source`` ``[N, d]``."""
        constants = [
            numpy_helper.from_array(self.center.astype(np.float32), "ood_center"),
            numpy_helper.from_array(self.whitening.astype(np.float32), "ood_whitening"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "ood_sum_axes"),
        ]
        nodes = [
            helper.make_node("Sub", [source, "ood_center"], ["ood_centered"]),
            helper.make_node("MatMul", ["ood_centered", "ood_whitening"], ["ood_whitened"]),
            helper.make_node("Mul", ["ood_whitened", "ood_whitened"], ["ood_squares"]),
            helper.make_node("ReduceSum", ["ood_squares", "ood_sum_axes"], ["ood_distance_sq"], keepdims=0),
            helper.make_node("Sqrt", ["ood_distance_sq"], [OOD_OUTPUT]),
        ]
        return nodes, constants


def float_input(name: str, width: int) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, width])


def string_input(name: str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.STRING, [None, 1])


def _model(graph: onnx.GraphProto, ir_version: int | None = None) -> onnx.ModelProto:
    opsets = [helper.make_opsetid(domain, version) for domain, version in OPSET.items()]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="edgeloop.recipes")
    # The oldest IR the opsets allow (onnx writes its newest, which onnxruntime may not read yet).
    model.ir_version = ir_version or helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(model, full_check=True)
    return model


def run_features(features: FeatureGraph, feeds: Mapping[str, npt.NDArray[Any]]) -> npt.NDArray[np.float32]:
    """The estimator's input matrix for ``feeds``, computed by the feature nodes themselves."""
    graph = helper.make_graph(
        list(features.nodes),
        "features_only",
        inputs=list(features.inputs),
        outputs=[float_input(FEATURES, features.width)],
        initializer=list(features.initializers),
    )
    session = ort.InferenceSession(_model(graph).SerializeToString(), providers=["CPUExecutionProvider"])
    matrix: npt.NDArray[np.float32] = session.run([FEATURES], dict(feeds))[0]
    return matrix


def convert(estimator: Any, width: int) -> onnx.ModelProto:
    """The fitted estimator as skl2onnx converts it (plain tensors: no per-row dictionaries)."""
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba") else None
    model: onnx.ModelProto = to_onnx(
        estimator,
        initial_types=[(FEATURES, FloatTensorType([None, width]))],
        options=options,
        target_opset=OPSET,
    )
    return model


def compose(
    name: str,
    features: FeatureGraph,
    core: onnx.ModelProto,
    after: Sequence[onnx.NodeProto],
    after_constants: Sequence[onnx.TensorProto],
    outputs: Sequence[onnx.ValueInfoProto],
) -> onnx.ModelProto:
    """Feature nodes -> the converted estimator -> ``after``; checked, with the estimator's IR version."""
    if core.graph.input[0].name != FEATURES:
        raise ValueError(f"the converted estimator reads {core.graph.input[0].name!r}, not {FEATURES!r}")
    graph = helper.make_graph(
        [*features.nodes, *core.graph.node, *after],
        name,
        inputs=list(features.inputs),
        outputs=list(outputs),
        initializer=[*features.initializers, *core.graph.initializer, *after_constants],
    )
    return _model(graph, core.ir_version)


def core_output(core: onnx.ModelProto, *, exclude: str = "label") -> str:
    """The converted estimator's main output (a classifier's probabilities, a regressor's values)."""
    name: str = next(output.name for output in core.graph.output if output.name != exclude)
    return name
