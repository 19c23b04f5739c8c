"""Training recipe of a binary model: the risk that a row's outcome is 1 (``edgeloop models init``).

Edgeloop calls ``train(dataset, parameters)`` in a child process, on a first bundle
(``edgeloop train``) and on every retraining run: ``dataset`` holds every numeric
feature and 0/1 labels, split into ``train`` (fit here), ``validation`` (tune here) and
``holdout`` (leave alone: Edgeloop judges champion and challenger on it); ``parameters``
are the manifest recipe's. It returns the ONNX graph and the manifest fields that
describe it. Edit :func:`make_estimator` (any scikit-learn classifier skl2onnx converts)
and :data:`DEFAULT_PARAMETERS`; a parameter the manifest names must be listed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from edgeloop.domain.recipes import RecipeResult, TrainingDataset
from edgeloop.domain.tasks import BinaryTask
from edgeloop.recipes import starter_parts as parts
from edgeloop.recipes.recipe_parts import RecipeInputError, merged_parameters, split_indices

DEFAULT_PARAMETERS: Mapping[str, Any] = {
    "c": 1.0,  # inverse regularization strength of the logistic regression
    "range_margin": 0.5,  # inputs accepted on site: the observed range +- this share of its span
    "units": {},  # feature -> unit shown on the operator form
}


def make_estimator(parameters: Mapping[str, Any]) -> Pipeline:
    """The model to fit: replace it with yours (gradient boosting, a forest, ...)."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=float(parameters["c"]), max_iter=1000))


def train(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    """Fit on the train rows, choose the threshold on validation, report the holdout figures."""
    settings = merged_parameters(DEFAULT_PARAMETERS, parameters)
    if not isinstance(dataset.task, BinaryTask):
        raise RecipeInputError(f"this recipe trains binary models, the dataset is {dataset.task.kind}")
    names, matrix = parts.numeric_features(dataset)
    train_rows, validation_rows, holdout_rows = split_indices(dataset)
    labels = np.asarray(dataset.labels, dtype=np.int64)
    parts.require_rows(labels, train_rows, (0, 1))
    estimator = make_estimator(settings).fit(matrix[train_rows], labels[train_rows])
    graph = parts.to_onnx_bytes(estimator, len(names))
    risk = parts.run_graph(graph, matrix, parts.PROBABILITIES)[:, 1]
    threshold = best_f1_threshold(labels[validation_rows], risk[validation_rows])
    task = BinaryTask(dataset.task.risk_output, threshold, dataset.task.label_names)
    fields = {
        **parts.graph_fields(names, {task.risk_output: (parts.PROBABILITIES, 1)}),
        "inputs": parts.number_inputs(dataset, names, settings["range_margin"], settings["units"]),
        "outputs": [{"name": task.risk_output, "description": f"Probability of {task.label_names[1]}"}],
        "task": task.to_dict(),
        "metrics": holdout_metrics(labels[holdout_rows], risk[holdout_rows], threshold),
        "training_data": {"source": dataset.source, "rows": dataset.n_rows},
    }
    return RecipeResult(graph, fields)


def best_f1_threshold(truth: npt.NDArray[np.int64], risk: npt.NDArray[np.float64]) -> float:
    """The candidate threshold with the best F1 on ``truth`` (0.5 if validation has no positives)."""
    if truth.sum() == 0:
        return 0.5
    candidates = np.unique(np.round(risk, 4))
    scores = [f1_score(truth, risk >= candidate, zero_division=0.0) for candidate in candidates]
    return float(candidates[int(np.argmax(scores))])


def holdout_metrics(
    truth: npt.NDArray[np.int64], risk: npt.NDArray[np.float64], threshold: float
) -> dict[str, float]:
    """For the model card; the promotion decision computes its own on the same rows."""
    metrics = {"holdout_f1_at_threshold": float(f1_score(truth, risk >= threshold, zero_division=0.0))}
    if len(set(truth.tolist())) == 2:  # both outcomes needed for the ranking figures
        metrics["holdout_roc_auc"] = float(roc_auc_score(truth, risk))
        metrics["holdout_average_precision"] = float(average_precision_score(truth, risk))
    return {name: round(value, 6) for name, value in metrics.items()}
