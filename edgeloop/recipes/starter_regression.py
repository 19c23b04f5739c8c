"""Training recipe of a regression model: a number per row (``edgeloop models init``).

Edgeloop calls ``train(dataset, parameters)`` in a child process, on a first bundle
(``edgeloop train``) and on every retraining run: ``dataset`` holds every numeric
feature and numeric targets, split into ``train`` (fit here), ``validation`` (tune
here) and ``holdout`` (leave alone: Edgeloop judges champion and challenger on it);
``parameters`` are the manifest recipe's. It returns the ONNX graph and the manifest
fields that describe it. Edit :func:`make_estimator` (any scikit-learn regressor
skl2onnx converts) and :data:`DEFAULT_PARAMETERS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from edgeloop.domain.recipes import RecipeResult, TrainingDataset
from edgeloop.domain.tasks import RegressionTask
from edgeloop.recipes import starter_parts as parts
from edgeloop.recipes.recipe_parts import RecipeInputError, merged_parameters, split_indices

DEFAULT_PARAMETERS: Mapping[str, Any] = {
    "alpha": 1.0,  # ridge regularization strength
    "range_margin": 0.5,  # inputs accepted on site: the observed range +- this share of its span
    "units": {},  # feature -> unit shown on the operator form
}


def make_estimator(parameters: Mapping[str, Any]) -> Pipeline:
    """The model to fit: replace it with yours (gradient boosting, a forest, ...)."""
    return make_pipeline(StandardScaler(), Ridge(alpha=float(parameters["alpha"])))


def train(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    """Fit on the train rows, report the holdout figures."""
    settings = merged_parameters(DEFAULT_PARAMETERS, parameters)
    task = dataset.task
    if not isinstance(task, RegressionTask):
        raise RecipeInputError(f"this recipe trains regression models, the dataset is {task.kind}")
    if task.lower_output is not None:
        raise RecipeInputError("this recipe predicts no interval: remove lower_output and upper_output")
    names, matrix = parts.numeric_features(dataset)
    train_rows, _, holdout_rows = split_indices(dataset)
    target = np.asarray(dataset.labels, dtype=np.float64)
    estimator = make_estimator(settings).fit(matrix[train_rows], target[train_rows])
    graph = parts.to_onnx_bytes(estimator, len(names))
    predicted = parts.run_graph(graph, matrix[holdout_rows], parts.VARIABLE)[:, 0]
    unit = f" [{task.unit}]" if task.unit else ""
    fields = {
        **parts.graph_fields(names, {task.value_output: (parts.VARIABLE, 0)}),
        "inputs": parts.number_inputs(dataset, names, settings["range_margin"], settings["units"]),
        "outputs": [{"name": task.value_output, "description": f"Predicted value{unit}"}],
        "task": task.to_dict(),
        "metrics": holdout_metrics(target[holdout_rows], predicted, target[train_rows].mean()),
        "training_data": {"source": dataset.source, "rows": dataset.n_rows},
    }
    return RecipeResult(graph, fields)


def holdout_metrics(
    truth: npt.NDArray[np.float64], predicted: npt.NDArray[np.float64], train_mean: float
) -> dict[str, float]:
    """For the model card (with the mean predictor's MAE to compare); promotion computes its own."""
    metrics = {
        "holdout_mae": mean_absolute_error(truth, predicted),
        "holdout_rmse": float(np.sqrt(mean_squared_error(truth, predicted))),
        "holdout_r2": r2_score(truth, predicted) if truth.size > 1 else 0.0,
        "baseline_mae": float(np.mean(np.abs(truth - train_mean))),
    }
    return {name: round(float(value), 6) for name, value in metrics.items()}
