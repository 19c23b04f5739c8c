"""Multiclass log loss pairs each probability column with its own class, in the task's order."""

from __future__ import annotations

import math

import numpy as np

from edgeloop.domain.tasks import MulticlassTask
from edgeloop.training.evaluation import task_scores

# Deliberately not in sorted order: scikit-learn assumes sorted columns.
TASK = MulticlassTask(classes=("none", "TWF", "HDF"), probability_outputs=("p_none", "p_twf", "p_hdf"))


def outputs(rows: list[tuple[float, float, float]]) -> dict[str, np.ndarray]:
    table = np.asarray(rows, dtype=np.float64)
    return {name: table[:, i] for i, name in enumerate(TASK.probability_outputs)}


def test_confident_right_answers_have_a_log_loss_near_zero() -> None:
    labels = np.asarray(["none", "TWF", "HDF"], dtype=object)
    scores = task_scores(TASK, labels, outputs([(0.98, 0.01, 0.01), (0.01, 0.98, 0.01), (0.01, 0.01, 0.98)]))
    assert math.isclose(scores["log_loss"], -math.log(0.98), rel_tol=1e-6)
    assert scores["macro_f1"] == 1.0


def test_confident_wrong_answers_have_a_large_log_loss() -> None:
    labels = np.asarray(["TWF", "HDF", "none"], dtype=object)
    scores = task_scores(TASK, labels, outputs([(0.98, 0.01, 0.01), (0.01, 0.98, 0.01), (0.01, 0.01, 0.98)]))
    assert math.isclose(scores["log_loss"], -math.log(0.01), rel_tol=1e-6)
