"""What the starter recipes share (``edgeloop models init`` copies one into a new model's folder).

A starter (``starter_binary``, ``starter_multiclass``, ``starter_regression``) fits one
scikit-learn estimator on every numeric feature of the dataset, in the dataset's order,
and skl2onnx converts it into a graph with one input, :data:`GRAPH_INPUT`
``[N, n_features]`` float32. These helpers hold the parts no data scientist needs to
edit: the numeric matrix, the input schema, the conversion, the held-out run, the
format fields; the starter keeps the estimator, its parameters and its metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.base import BaseEstimator, is_classifier

from edgeloop.domain.recipes import TrainingDataset
from edgeloop.recipes.recipe_parts import FORMAT_FIELDS, RecipeInputError, numeric_matrix

GRAPH_INPUT = "features"
OPSET = {"": 17, "ai.onnx.ml": 3}
# skl2onnx's names for what the converted estimator returns.
PROBABILITIES = "probabilities"  # classifiers: [N, n_classes], columns in the order of classes_
VARIABLE = "variable"  # regressors: [N, 1]


def numeric_features(dataset: TrainingDataset) -> tuple[tuple[str, ...], npt.NDArray[np.float32]]:
    """The feature names in the dataset's order and their float32 matrix; a category is refused."""
    names = tuple(dataset.features)
    categorical = [name for name in names if dataset.features[name].dtype == np.object_]
    if categorical:
        raise RecipeInputError(
            f"the features {categorical} are categories; this starter takes numbers only "
            "(encode categories inside the graph, as edgeloop/recipes/ai4i_failure_mode.py does)"
        )
    return names, numeric_matrix(dataset, names)


def number_inputs(
    dataset: TrainingDataset, names: Sequence[str], margin: float, units: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One manifest input per feature: the observed range widened by ``margin`` x its span each side.

    The range is what a site accepts (a value outside is a typo or a wrong unit, answered 422).
    """
    inputs = []
    for name in names:
        values = np.asarray(dataset.features[name], dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        span = max(high - low, 1e-3)
        inputs.append(
            {
                "name": name,
                "type": "number",
                "unit": units.get(name, ""),
                "min": math.floor((low - margin * span) * 1000) / 1000,
                "max": math.ceil((high + margin * span) * 1000) / 1000,
            }
        )
    return inputs


def to_onnx_bytes(estimator: BaseEstimator, n_features: int) -> bytes:
    """The fitted estimator (or pipeline) as an ONNX graph; classifiers output plain probabilities."""
    options = {id(estimator): {"zipmap": False}} if is_classifier(estimator) else None
    model = to_onnx(
        estimator,
        initial_types=[(GRAPH_INPUT, FloatTensorType([None, n_features]))],
        options=options,
        target_opset=OPSET,
    )
    serialized: bytes = model.SerializeToString()
    return serialized


def run_graph(graph: bytes, matrix: npt.NDArray[np.float32], output: str) -> npt.NDArray[np.float64]:
    """The graph's ``output`` on ``matrix``, as a site's onnxruntime computes it."""
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    (values,) = session.run([output], {GRAPH_INPUT: matrix})
    return np.asarray(values, dtype=np.float64)


def graph_fields(names: Sequence[str], outputs: Mapping[str, tuple[str, int]]) -> dict[str, Any]:
    """Format and ONNX mapping; ``outputs``: manifest output -> (graph output, column)."""
    return {
        **FORMAT_FIELDS,
        "onnx_inputs": [{"name": GRAPH_INPUT, "features": list(names), "dtype": "float32"}],
        "onnx_outputs": [
            {"output": name, "name": graph_output, "column": column}
            for name, (graph_output, column) in outputs.items()
        ],
    }


def require_rows(labels: npt.NDArray[Any], indices: npt.NDArray[np.int64], wanted: Sequence[Any]) -> None:
    """Every value in ``wanted`` (classes) occurs among the training rows, else a clear error."""
    present = set(np.asarray(labels)[indices].tolist())
    missing = [value for value in wanted if value not in present]
    if missing:
        raise RecipeInputError(f"no training rows labelled {missing}: every class needs some")
