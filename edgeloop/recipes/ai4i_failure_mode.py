"""Recipe: which failure mode (if any) an AI4I milling row shows, a multiclass model.

Classes: ``none`` and the five AI4I modes (tool wear TWF, heat dissipation HDF, power
PWF, overstrain OSF, random RNF); the label of each row comes from the mode flags
(tools/failure_mode_data.py documents the rule for rows with several). Inputs are the
binary demo's six (product type + five process readings); the graph computes the
physical quantities the modes follow: air/process temperature difference, mechanical
power, and tool strain (wear x torque) relative to the type's overstrain limit.
Gradient-boosted trees (class-balanced weights, square-rooted so "none" keeps most of
its weight) give one probability output per class; a robust Mahalanobis distance of
the readings is the OOD score. Judged on the holdout rows by macro-F1 and log loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss

from edgeloop.domain.recipes import BaseDataSpec, RecipeResult, TrainingDataset
from edgeloop.domain.tasks import MulticlassTask
from edgeloop.recipes import graph_parts as parts
from edgeloop.recipes import recipe_parts as common
from edgeloop.recipes.ai4i_inputs import (
    CSV_COLUMNS,
    NUMERIC_FEATURES,
    NUMERIC_NAMES,
    OVERSTRAIN_LIMITS,
    TYPE_CATEGORIES,
    type_input,
)

ENTRY_POINT = "edgeloop.recipes.ai4i_failure_mode:train"
MODEL_NAME = "ai4i-failure-mode"
CLASSES = ("none", "TWF", "HDF", "PWF", "OSF", "RNF")
ALERT_CLASSES = ("TWF", "HDF", "PWF", "OSF", "RNF")  # any predicted failure mode
BASE_DATA = BaseDataSpec(
    uri="data/ai4i2020-failure-mode.csv", format="csv", columns=dict(CSV_COLUMNS), label="Failure mode"
)
DEFAULT_PARAMETERS: Mapping[str, Any] = {
    "seed": 7,
    "n_estimators": 60,
    "max_depth": 4,
    "learning_rate": 0.1,
    "min_confidence": 0.5,
    "ood_quantile": 0.999,
    "range_margin": 0.5,
}
MAX_ONNX_DIFFERENCE = 1e-4
TYPE_INPUT, NUMERIC_INPUT, PROBABILITIES = "type", "numeric", "class_probabilities"
_RPM_TO_RAD_S = 2.0 * np.pi / 60.0  # torque [Nm] x speed [rpm] x this = power [W]


def task(min_confidence: float | None = DEFAULT_PARAMETERS["min_confidence"]) -> MulticlassTask:
    """The task this recipe's models are labelled for (the first bundle's dataset carries it)."""
    outputs = tuple(f"probability_{name.lower()}" for name in CLASSES)
    return MulticlassTask(CLASSES, outputs, ALERT_CLASSES, min_confidence)


def feature_graph() -> parts.FeatureGraph:
    """``type`` [N, 1], ``numeric`` [N, 5] -> type code, readings, temperature difference, power, strain."""
    split = ["pre_air", "pre_process", "pre_speed", "pre_torque", "pre_wear"]
    encode: dict[str, Any] = {"keys_strings": list(TYPE_CATEGORIES), "default_float": -1.0}
    nodes = [
        helper.make_node(
            "LabelEncoder",
            [TYPE_INPUT],
            ["pre_type_code"],
            domain="ai.onnx.ml",
            values_floats=[0.0, 1.0, 2.0],
            **encode,
        ),
        helper.make_node(
            "LabelEncoder",
            [TYPE_INPUT],
            ["pre_strain_limit"],
            domain="ai.onnx.ml",
            values_floats=[OVERSTRAIN_LIMITS[t] for t in TYPE_CATEGORIES],
            **encode,
        ),
        helper.make_node("Split", [NUMERIC_INPUT, "pre_split_sizes"], split, axis=1),
        helper.make_node("Sub", ["pre_process", "pre_air"], ["pre_temp_diff"]),
        helper.make_node("Mul", ["pre_torque", "pre_speed"], ["pre_torque_speed"]),
        helper.make_node("Mul", ["pre_torque_speed", "pre_rpm_to_rad_s"], ["pre_power"]),
        helper.make_node("Mul", ["pre_wear", "pre_torque"], ["pre_strain"]),
        helper.make_node("Div", ["pre_strain", "pre_strain_limit"], ["pre_strain_ratio"]),
        helper.make_node(
            "Concat",
            ["pre_type_code", NUMERIC_INPUT, "pre_temp_diff", "pre_power", "pre_strain_ratio"],
            [parts.FEATURES],
            axis=1,
        ),
    ]
    constants = [
        numpy_helper.from_array(np.ones(len(NUMERIC_FEATURES), dtype=np.int64), "pre_split_sizes"),
        numpy_helper.from_array(np.array([_RPM_TO_RAD_S], dtype=np.float32), "pre_rpm_to_rad_s"),
    ]
    inputs = [parts.string_input(TYPE_INPUT), parts.float_input(NUMERIC_INPUT, len(NUMERIC_FEATURES))]
    return parts.FeatureGraph(inputs, nodes, constants, width=1 + len(NUMERIC_FEATURES) + 3)


def train(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    """Fit on the train rows, check the graph against scikit-learn, report the holdout figures."""
    settings = common.merged_parameters(DEFAULT_PARAMETERS, parameters)
    common.require_features(dataset, ("type", *NUMERIC_NAMES))
    train_rows, validation_rows, holdout_rows = common.split_indices(dataset)
    classes = _label_indices(dataset)
    feeds = _feeds(dataset)
    matrix = parts.run_features(feature_graph(), feeds)
    classifier = _fit(matrix[train_rows], classes[train_rows], settings)
    ood = parts.RobustDistance.fit(feeds[NUMERIC_INPUT][train_rows], settings["seed"])
    ood_threshold = ood.threshold(feeds[NUMERIC_INPUT][train_rows], settings["ood_quantile"])
    graph = export(classifier, ood).SerializeToString()
    probabilities, ood_score = _run(graph, {name: values[holdout_rows] for name, values in feeds.items()})
    difference = float(np.max(np.abs(probabilities - classifier.predict_proba(matrix[holdout_rows]))))
    if difference > MAX_ONNX_DIFFERENCE:
        raise RuntimeError(f"the exported graph differs from scikit-learn by {difference:.2e}")
    metrics = _metrics(classes[holdout_rows], classes[train_rows], probabilities)
    metrics |= {"holdout_ood_flag_rate": float(np.mean(ood_score > ood_threshold))}
    metrics |= {"onnx_max_abs_difference": difference}
    training_data = {
        "source": dataset.source,
        "rows": dataset.n_rows,
        "split": common.split_sizes(train_rows, validation_rows, holdout_rows),
        "classes": {name: int(np.sum(classes == index)) for index, name in enumerate(CLASSES)},
        "label": "Failure mode (tools/failure_mode_data.py)",
    }
    fields = _manifest_fields(dataset, settings, ood_threshold, metrics, training_data)
    return RecipeResult(graph, fields)


def _label_indices(dataset: TrainingDataset) -> npt.NDArray[np.int64]:
    index = {name: position for position, name in enumerate(CLASSES)}
    unknown = sorted({str(label) for label in dataset.labels.tolist()} - set(index))
    if unknown:
        raise common.RecipeInputError(f"labels {unknown} are not classes of this recipe {list(CLASSES)}")
    classes = np.array([index[label] for label in dataset.labels.tolist()], dtype=np.int64)
    absent = [CLASSES[i] for i in range(len(CLASSES)) if not np.any(classes[dataset.indices("train")] == i)]
    if absent:
        raise common.RecipeInputError(f"classes {absent} have no train rows")
    return classes


def _feeds(dataset: TrainingDataset) -> dict[str, npt.NDArray[Any]]:
    types = np.asarray(dataset.features["type"], dtype=object).reshape(-1, 1)
    return {TYPE_INPUT: types, NUMERIC_INPUT: common.numeric_matrix(dataset, NUMERIC_NAMES)}


def _fit(
    matrix: npt.NDArray[np.float32], classes: npt.NDArray[np.int64], settings: Mapping[str, Any]
) -> GradientBoostingClassifier:
    counts = np.bincount(classes, minlength=len(CLASSES)).astype(np.float64)
    # sqrt of the balanced weights: rare modes count more, without drowning "none" in false alarms.
    weights = np.sqrt(counts.sum() / (len(CLASSES) * counts))[classes]
    classifier = GradientBoostingClassifier(
        n_estimators=settings["n_estimators"],
        max_depth=settings["max_depth"],
        learning_rate=settings["learning_rate"],
        subsample=0.8,
        random_state=settings["seed"],
    )
    return classifier.fit(matrix, classes, sample_weight=weights)


def export(classifier: GradientBoostingClassifier, ood: parts.RobustDistance) -> onnx.ModelProto:
    """Features -> classifier ``probabilities`` [N, classes], and ``ood_score`` [N]."""
    core = parts.convert(classifier, feature_graph().width)
    after, constants = ood.nodes(NUMERIC_INPUT)
    after.append(helper.make_node("Identity", [parts.core_output(core)], [PROBABILITIES]))
    outputs = [
        parts.float_input(PROBABILITIES, len(CLASSES)),
        helper.make_tensor_value_info(parts.OOD_OUTPUT, onnx.TensorProto.FLOAT, [None]),
    ]
    return parts.compose("ai4i_failure_mode", feature_graph(), core, after, constants, outputs)


def _run(
    graph: bytes, feeds: Mapping[str, npt.NDArray[Any]]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    probabilities, score = session.run([PROBABILITIES, parts.OOD_OUTPUT], dict(feeds))
    return np.asarray(probabilities, dtype=np.float64), np.asarray(score, dtype=np.float64)


def _metrics(
    truth: npt.NDArray[np.int64], train_classes: npt.NDArray[np.int64], probabilities: npt.NDArray[np.float64]
) -> dict[str, float]:
    """Holdout figures of the graph, and of the trivial baselines (majority class; training priors)."""
    labels = list(range(len(CLASSES)))
    predicted = np.argmax(probabilities, axis=1)
    majority = np.full_like(truth, np.bincount(train_classes, minlength=len(CLASSES)).argmax())
    priors = np.bincount(train_classes, minlength=len(CLASSES)) / train_classes.size
    clipped = np.clip(probabilities, 1e-15, 1.0)
    return {
        "holdout_macro_f1": float(
            f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)
        ),
        "holdout_accuracy": float(accuracy_score(truth, predicted)),
        "holdout_log_loss": float(
            log_loss(truth, clipped / clipped.sum(axis=1, keepdims=True), labels=labels)
        ),
        "baseline_macro_f1": float(
            f1_score(truth, majority, labels=labels, average="macro", zero_division=0)
        ),
        "baseline_log_loss": float(log_loss(truth, np.tile(priors, (truth.size, 1)), labels=labels)),
    }


def _manifest_fields(
    dataset: TrainingDataset,
    settings: Mapping[str, Any],
    ood_threshold: float,
    metrics: Mapping[str, float],
    training_data: Mapping[str, Any],
) -> dict[str, Any]:
    model_task = task(settings["min_confidence"])
    margin = settings["range_margin"]
    inputs = [type_input(), *common.number_inputs(NUMERIC_FEATURES, dataset, margin)]
    outputs = [
        {"name": output, "description": f"Probability of {'no failure' if name == 'none' else name}"}
        for name, output in zip(CLASSES, model_task.probability_outputs, strict=True)
    ]
    outputs.append({"name": parts.OOD_OUTPUT, "description": "Robust Mahalanobis distance of the readings"})
    return {
        **common.FORMAT_FIELDS,
        "description": "Failure mode of a milling process (AI4I 2020): none, TWF, HDF, PWF, OSF or RNF.",
        "inputs": inputs,
        "outputs": outputs,
        "task": model_task.to_dict(),
        "evaluation": {"primary_metric": "macro_f1", "margin": 0.02, "margin_kind": "absolute"},
        **common.ood_fields(parts.OOD_OUTPUT, ood_threshold),
        "onnx_inputs": [
            {"name": TYPE_INPUT, "features": ["type"], "dtype": "string"},
            {"name": NUMERIC_INPUT, "features": list(NUMERIC_NAMES), "dtype": "float32"},
        ],
        "onnx_outputs": [
            *(
                {"output": output, "name": PROBABILITIES, "column": column}
                for column, output in enumerate(model_task.probability_outputs)
            ),
            {"output": parts.OOD_OUTPUT, "name": parts.OOD_OUTPUT, "column": None},
        ],
        **common.provenance_fields(
            metrics, training_data, common.recipe_block(ENTRY_POINT, settings, BASE_DATA)
        ),
    }
