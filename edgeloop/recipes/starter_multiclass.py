"""Training recipe of a multiclass model: one probability per class (``edgeloop models init``).

Edgeloop calls ``train(dataset, parameters)`` in a child process, on a first bundle
(``edgeloop train``) and on every retraining run: ``dataset`` holds every numeric
feature and class-name labels (the classes of ``dataset.task``), split into ``train``
(fit here), ``validation`` (tune here) and ``holdout`` (leave alone: Edgeloop judges
champion and challenger on it); ``parameters`` are the manifest recipe's. It returns
the ONNX graph and the manifest fields that describe it. Edit :func:`make_estimator`
(any scikit-learn classifier skl2onnx converts) and :data:`DEFAULT_PARAMETERS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss

from edgeloop.domain.recipes import RecipeResult, TrainingDataset
from edgeloop.domain.tasks import MulticlassTask
from edgeloop.recipes import starter_parts as parts
from edgeloop.recipes.recipe_parts import RecipeInputError, merged_parameters, split_indices

DEFAULT_PARAMETERS: Mapping[str, Any] = {
    "seed": 7,
    "n_estimators": 100,
    "min_samples_leaf": 2,
    "range_margin": 0.5,  # inputs accepted on site: the observed range +- this share of its span
    "units": {},  # feature -> unit shown on the operator form
}


def make_estimator(parameters: Mapping[str, Any]) -> RandomForestClassifier:
    """The model to fit: replace it with yours (gradient boosting, a pipeline, ...)."""
    return RandomForestClassifier(
        n_estimators=int(parameters["n_estimators"]),
        min_samples_leaf=int(parameters["min_samples_leaf"]),
        random_state=int(parameters["seed"]),
    )


def train(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    """Fit on the train rows (classes as indices, in the task's order), report the holdout figures."""
    settings = merged_parameters(DEFAULT_PARAMETERS, parameters)
    task = dataset.task
    if not isinstance(task, MulticlassTask):
        raise RecipeInputError(f"this recipe trains multiclass models, the dataset is {task.kind}")
    names, matrix = parts.numeric_features(dataset)
    train_rows, _, holdout_rows = split_indices(dataset)
    parts.require_rows(dataset.labels, train_rows, task.classes)
    # Indices into task.classes: the probability columns then come out in the manifest's order.
    labels = np.array([task.classes.index(label) for label in dataset.labels.tolist()], dtype=np.int64)
    estimator = make_estimator(settings).fit(matrix[train_rows], labels[train_rows])
    graph = parts.to_onnx_bytes(estimator, len(names))
    probabilities = parts.run_graph(graph, matrix[holdout_rows], parts.PROBABILITIES)
    columns = {output: (parts.PROBABILITIES, index) for index, output in enumerate(task.probability_outputs)}
    fields = {
        **parts.graph_fields(names, columns),
        "inputs": parts.number_inputs(dataset, names, settings["range_margin"], settings["units"]),
        "outputs": [
            {"name": output, "description": f"Probability of {name}"}
            for name, output in zip(task.classes, task.probability_outputs, strict=True)
        ],
        "task": task.to_dict(),
        "metrics": holdout_metrics(labels[holdout_rows], probabilities),
        "training_data": {"source": dataset.source, "rows": dataset.n_rows},
    }
    return RecipeResult(graph, fields)


def holdout_metrics(truth: npt.NDArray[np.int64], probabilities: npt.NDArray[np.float64]) -> dict[str, float]:
    """For the model card; the promotion decision computes its own on the same rows."""
    predicted = probabilities.argmax(axis=1)
    # float32 sums are off by ~1e-7; scikit-learn warns about unnormalized probabilities.
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
    classes = list(range(probabilities.shape[1]))
    metrics = {
        "holdout_macro_f1": f1_score(truth, predicted, labels=classes, average="macro", zero_division=0.0),
        "holdout_accuracy": accuracy_score(truth, predicted),
        "holdout_log_loss": log_loss(truth, probabilities, labels=classes),
    }
    return {name: round(float(value), 6) for name, value in metrics.items()}
