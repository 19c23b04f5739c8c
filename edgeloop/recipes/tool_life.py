"""Recipe: a turning tool's life in minutes from its cutting conditions, a regression model.

Data: data/tool-life.csv, generated from the extended Taylor equation by
tools/tool_life_data.py. Taylor's law is a power law, so the graph takes logarithms
of cutting speed, feed and depth of cut, a linear model fits ``log T`` (its
coefficients are ``-1/n``, ``-a/n`` and ``-b/n``: the fitted constants are reported in
the manifest's ``training_data``), and the graph returns ``exp`` of the prediction.
The interval comes from the validation rows' residuals (log scale: their
``(1 - interval) / 2`` and ``(1 + interval) / 2`` quantiles), so it is as wide as the
scatter actually is. Out of band: a predicted life below ``band_low`` (the conditions
wear the insert out within minutes) or above ``band_high`` (slower cutting than the
tool needs). Judged on the holdout rows by MAE.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from sklearn.linear_model import LinearRegression

from edgeloop.domain.recipes import BaseDataSpec, RecipeResult, TrainingDataset
from edgeloop.domain.tasks import RegressionTask
from edgeloop.recipes import graph_parts as parts
from edgeloop.recipes import recipe_parts as common

ENTRY_POINT = "edgeloop.recipes.tool_life:train"
MODEL_NAME = "tool-life"
# (feature, CSV column, unit, description), in the order of the graph's numeric input.
NUMERIC_FEATURES = (
    ("cutting_speed_m_min", "Cutting speed [m/min]", "m/min", "Cutting speed at the workpiece surface"),
    ("feed_mm_rev", "Feed [mm/rev]", "mm/rev", "Feed per spindle revolution"),
    ("depth_of_cut_mm", "Depth of cut [mm]", "mm", "Radial depth of cut"),
)
NUMERIC_NAMES = tuple(name for name, *_ in NUMERIC_FEATURES)
BASE_DATA = BaseDataSpec(
    uri="data/tool-life.csv",
    format="csv",
    columns={column: name for name, column, *_ in NUMERIC_FEATURES},
    label="Tool life [min]",
)
VALUE, LOWER, UPPER = "tool_life_min", "tool_life_lower_min", "tool_life_upper_min"
NUMERIC_INPUT = "numeric"
DEFAULT_PARAMETERS: Mapping[str, Any] = {
    "seed": 7,
    "interval": 0.9,
    "band_low": 5.0,
    "band_high": 240.0,
    "ood_quantile": 0.999,
    "range_margin": 0.5,
}
MAX_ONNX_DIFFERENCE = 1e-3  # relative: the graph computes in float32


def task(band_low: float | None = 5.0, band_high: float | None = 240.0) -> RegressionTask:
    """The task this recipe's models predict (the first bundle's dataset carries it)."""
    return RegressionTask(VALUE, LOWER, UPPER, band_low, band_high, unit="min")


def feature_graph() -> parts.FeatureGraph:
    """``numeric`` [N, 3] -> their natural logarithms (Taylor's law is linear in them)."""
    nodes = [helper.make_node("Log", [NUMERIC_INPUT], [parts.FEATURES])]
    inputs = [parts.float_input(NUMERIC_INPUT, len(NUMERIC_FEATURES))]
    return parts.FeatureGraph(inputs, nodes, [], width=len(NUMERIC_FEATURES))


def train(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    """Fit ``log T`` on the train rows, the interval on validation; report the holdout figures."""
    settings = common.merged_parameters(DEFAULT_PARAMETERS, parameters)
    common.require_features(dataset, NUMERIC_NAMES)
    train_rows, validation_rows, holdout_rows = common.split_indices(dataset)
    life = np.asarray(dataset.labels, dtype=np.float64)
    if not np.all(np.isfinite(life)) or np.any(life <= 0):
        raise common.RecipeInputError("tool life labels must be finite and > 0 (minutes)")
    numeric = common.numeric_matrix(dataset, NUMERIC_NAMES)
    if np.any(numeric <= 0):
        raise common.RecipeInputError("cutting speed, feed and depth of cut must be > 0")
    logs = parts.run_features(feature_graph(), {NUMERIC_INPUT: numeric})
    model = LinearRegression().fit(logs[train_rows], np.log(life[train_rows]))
    residuals = np.log(life[validation_rows]) - model.predict(logs[validation_rows])
    tail = (1.0 - settings["interval"]) / 2.0
    offsets = (float(np.quantile(residuals, tail)), float(np.quantile(residuals, 1.0 - tail)))
    ood = parts.RobustDistance.fit(logs[train_rows], settings["seed"])
    ood_threshold = ood.threshold(logs[train_rows], settings["ood_quantile"])
    graph = export(model, ood, offsets).SerializeToString()
    value, lower, upper, ood_score = _run(graph, numeric[holdout_rows])
    expected = np.exp(model.predict(logs[holdout_rows]))
    difference = float(np.max(np.abs(value - expected) / expected))
    if difference > MAX_ONNX_DIFFERENCE:
        raise RuntimeError(f"the exported graph differs from scikit-learn by {difference:.2e} (relative)")
    metrics = _metrics(life[holdout_rows], life[train_rows], value, lower, upper)
    metrics |= {"holdout_ood_flag_rate": float(np.mean(ood_score > ood_threshold))}
    metrics |= {"onnx_max_relative_difference": difference}
    training_data = {
        "source": dataset.source,
        "rows": dataset.n_rows,
        "split": common.split_sizes(train_rows, validation_rows, holdout_rows),
        "target": {"mean": float(life.mean()), "std": float(life.std()), "unit": "min"},
        "fitted_taylor": _fitted_constants(model),
        "log_interval_offsets": list(offsets),
    }
    fields = _manifest_fields(dataset, settings, ood_threshold, metrics, training_data)
    return RecipeResult(graph, fields)


def _fitted_constants(model: LinearRegression) -> dict[str, float]:
    """Taylor's constants read back from ``log T = k - log V / n - (a/n) log f - (b/n) log d``."""
    speed, feed, depth = (float(c) for c in model.coef_)
    n = -1.0 / speed
    return {"n": round(n, 4), "feed_exponent": round(-feed * n, 4), "depth_exponent": round(-depth * n, 4)}


def export(
    model: LinearRegression, ood: parts.RobustDistance, offsets: tuple[float, float]
) -> onnx.ModelProto:
    """logs -> linear model -> ``exp``: value, lower and upper bound [N]; ``ood_score`` of the logs [N]."""
    core = parts.convert(model, feature_graph().width)
    after, constants = ood.nodes(parts.FEATURES)
    constants += [
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "post_flat"),
        numpy_helper.from_array(np.array([offsets[0]], dtype=np.float32), "post_lower_offset"),
        numpy_helper.from_array(np.array([offsets[1]], dtype=np.float32), "post_upper_offset"),
    ]
    after += [
        helper.make_node("Reshape", [parts.core_output(core, exclude=""), "post_flat"], ["post_log_life"]),
        helper.make_node("Exp", ["post_log_life"], [VALUE]),
        helper.make_node("Add", ["post_log_life", "post_lower_offset"], ["post_log_lower"]),
        helper.make_node("Exp", ["post_log_lower"], [LOWER]),
        helper.make_node("Add", ["post_log_life", "post_upper_offset"], ["post_log_upper"]),
        helper.make_node("Exp", ["post_log_upper"], [UPPER]),
    ]
    outputs = [
        helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [None])
        for name in (VALUE, LOWER, UPPER, parts.OOD_OUTPUT)
    ]
    return parts.compose("tool_life", feature_graph(), core, after, constants, outputs)


def _run(graph: bytes, numeric: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float64], ...]:
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    results = session.run([VALUE, LOWER, UPPER, parts.OOD_OUTPUT], {NUMERIC_INPUT: numeric})
    return tuple(np.asarray(result, dtype=np.float64) for result in results)


def _metrics(
    truth: npt.NDArray[np.float64],
    train_truth: npt.NDArray[np.float64],
    value: npt.NDArray[np.float64],
    lower: npt.NDArray[np.float64],
    upper: npt.NDArray[np.float64],
) -> dict[str, float]:
    """Holdout figures of the graph, and of the trivial baseline (the training rows' mean)."""
    errors = value - truth
    total = float(np.sum((truth - truth.mean()) ** 2))
    return {
        "holdout_mae": float(np.mean(np.abs(errors))),
        "holdout_rmse": float(np.sqrt(np.mean(errors**2))),
        "holdout_r2": 1.0 - float(np.sum(errors**2)) / total,
        "holdout_interval_coverage": float(np.mean((truth >= lower) & (truth <= upper))),
        "baseline_mae": float(np.mean(np.abs(truth - train_truth.mean()))),
    }


def _positive_ranges(inputs: list[dict[str, Any]], dataset: TrainingDataset) -> list[dict[str, Any]]:
    """The graph takes logarithms: each range starts above 0, at least a tenth of the lowest value
    seen (the margin below it would reach 0 for the depth of cut: log 0, no prediction)."""
    for spec in inputs:
        lowest = float(np.min(dataset.features[spec["name"]]))
        spec["min"] = max(spec["min"], float(f"{lowest / 10:.3g}"))
    return inputs


def _manifest_fields(
    dataset: TrainingDataset,
    settings: Mapping[str, Any],
    ood_threshold: float,
    metrics: Mapping[str, float],
    training_data: Mapping[str, Any],
) -> dict[str, Any]:
    margin = settings["range_margin"]
    share = f"{settings['interval']:.0%}"
    return {
        **common.FORMAT_FIELDS,
        "description": "Tool life [min] of a carbide insert turning steel, from its cutting conditions.",
        "inputs": _positive_ranges(common.number_inputs(NUMERIC_FEATURES, dataset, margin), dataset),
        "outputs": [
            {"name": VALUE, "description": "Predicted tool life (median) [min]"},
            {"name": LOWER, "description": f"Lower end of the {share} interval [min]"},
            {"name": UPPER, "description": f"Upper end of the {share} interval [min]"},
            {"name": parts.OOD_OUTPUT, "description": "Robust Mahalanobis distance of the log conditions"},
        ],
        "task": task(settings["band_low"], settings["band_high"]).to_dict(),
        "evaluation": {"primary_metric": "mae", "margin": 0.05, "margin_kind": "relative"},
        **common.ood_fields(parts.OOD_OUTPUT, ood_threshold),
        "onnx_inputs": [{"name": NUMERIC_INPUT, "features": list(NUMERIC_NAMES), "dtype": "float32"}],
        "onnx_outputs": [
            {"output": name, "name": name, "column": None} for name in (VALUE, LOWER, UPPER, parts.OOD_OUTPUT)
        ],
        **common.provenance_fields(
            metrics, training_data, common.recipe_block(ENTRY_POINT, settings, BASE_DATA)
        ),
    }
