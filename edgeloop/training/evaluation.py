"""Scoring a model on labelled rows, per task (scikit-learn): the figures of
edgeloop.domain.metrics.TASK_METRICS, from the model's own outputs and its own task rule.

- binary: ROC AUC, average precision, F1 at the model's threshold, Brier score, ECE
  (and the threshold, for the card);
- multiclass: macro-F1, accuracy, log loss (over the task's classes);
- regression: MAE, RMSE, R², and the share of targets inside the predicted interval
  (interval models only);
- detection: precision, recall, F1 of the detections after the task's threshold and NMS
  (edgeloop.domain.detection_feedback), each label an image's boxes in pixels of the model's
  input, whose ``image_size`` the figures need.

:func:`unfit_outputs` says why a model's outputs cannot be scored at all (NaN or
infinite values, a task unlike the labels'), the run's *failed* outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from edgeloop.domain.detection_feedback import detection_scores
from edgeloop.domain.tasks import BinaryTask, DetectionTask, MulticlassTask, RegressionTask, Task

ECE_BINS = 10
Outputs = Mapping[str, npt.NDArray[Any]]


def unfit_outputs(task: Task, labels_task: Task, outputs: Outputs) -> str | None:
    """Why these outputs cannot be scored against labels of ``labels_task``; None if they can."""
    if task.kind != labels_task.kind:
        return f"it is a {task.kind} model, the labels are for a {labels_task.kind} task"
    if (
        isinstance(task, MulticlassTask)
        and isinstance(labels_task, MulticlassTask)
        and set(task.classes) != set(labels_task.classes)
    ):
        return f"its classes {list(task.classes)} differ from the labels' {list(labels_task.classes)}"
    bad = [
        name
        for name in task.prediction_outputs
        if not np.isfinite(np.asarray(outputs[name], dtype=np.float64)).all()
    ]
    invalid = _invalid_rows(task, outputs)
    if invalid or bad:
        names = ", ".join(bad) or "prediction"
        return f"{invalid} held-out rows have non-finite outputs ({names})"
    return None


def _invalid_rows(task: Task, outputs: Outputs) -> int:
    """Rows the task counts invalid; a detection's raw tensors: rows with a non-finite value."""
    if isinstance(task, DetectionTask):
        tensors = [np.asarray(outputs[name], dtype=np.float64) for name in task.prediction_outputs]
        finite = [np.isfinite(tensor.reshape(len(tensor), -1)).all(axis=1) for tensor in tensors]
        return int((~np.all(finite, axis=0)).sum())
    _, invalid = task.anomaly_masks(outputs)
    return int(invalid.sum())


def expected_calibration_error(labels: npt.NDArray[Any], scores: npt.NDArray[np.float64]) -> float:
    """Mean |observed rate - mean score| over equal-width score bins, weighted by bin size."""
    bins = np.clip((scores * ECE_BINS).astype(int), 0, ECE_BINS - 1)
    total = 0.0
    for index in range(ECE_BINS):
        mask = bins == index
        if mask.any():
            total += mask.sum() * abs(float(labels[mask].mean()) - float(scores[mask].mean()))
    return total / max(1, len(scores))


def _binary(task: BinaryTask, labels: npt.NDArray[Any], outputs: Outputs) -> dict[str, float]:
    risk = np.asarray(outputs[task.risk_output], dtype=np.float64)
    labels = labels.astype(np.int64)
    both = len(set(labels.tolist())) == 2
    return {
        "roc_auc": float(roc_auc_score(labels, risk)) if both else float("nan"),
        "average_precision": float(average_precision_score(labels, risk)) if both else float("nan"),
        "f1_at_threshold": float(f1_score(labels, risk >= task.threshold, zero_division=0.0)),
        "brier": float(np.mean((risk - labels) ** 2)),
        "ece": expected_calibration_error(labels, risk),
        "threshold": float(task.threshold),
    }


def _multiclass(task: MulticlassTask, labels: npt.NDArray[Any], outputs: Outputs) -> dict[str, float]:
    probabilities = task.probabilities(outputs)
    predicted = task.predicted_classes(outputs)
    classes = list(task.classes)
    clipped = np.clip(probabilities, 1e-15, 1.0)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return {
        "macro_f1": float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0.0)),
        "accuracy": float(accuracy_score(labels, predicted)),
        # scikit-learn reads the probability columns in sorted class order, not the task's.
        "log_loss": float(log_loss(labels, clipped[:, np.argsort(classes)], labels=sorted(classes))),
    }


def _regression(task: RegressionTask, labels: npt.NDArray[Any], outputs: Outputs) -> dict[str, float]:
    value = np.asarray(outputs[task.value_output], dtype=np.float64)
    target = labels.astype(np.float64)
    scores = {
        "mae": float(mean_absolute_error(target, value)),
        "rmse": float(np.sqrt(mean_squared_error(target, value))),
        "r2": float(r2_score(target, value)) if target.size > 1 else float("nan"),
    }
    if task.lower_output is not None and task.upper_output is not None:
        lower = np.asarray(outputs[task.lower_output], dtype=np.float64)
        upper = np.asarray(outputs[task.upper_output], dtype=np.float64)
        scores["interval_coverage"] = float(np.mean((target >= lower) & (target <= upper)))
    return scores


def _detection(
    task: DetectionTask, labels: npt.NDArray[Any], outputs: Outputs, image_size: tuple[int, int] | None
) -> dict[str, float]:
    if image_size is None:
        raise ValueError("a detection model's figures need its input's width and height")
    width, height = image_size
    detected = task.detect(outputs, width, height)
    return detection_scores(detected.detections, list(labels), width, height)


def task_scores(
    task: Task, labels: npt.NDArray[Any], outputs: Outputs, image_size: tuple[int, int] | None = None
) -> dict[str, float]:
    """The model's figures on ``labels`` (typed for the task), from its outputs.

    ``image_size`` (width, height of the model's input) places a detection's boxes.
    """
    if isinstance(task, BinaryTask):
        return _binary(task, labels, outputs)
    if isinstance(task, MulticlassTask):
        return _multiclass(task, labels, outputs)
    if isinstance(task, DetectionTask):
        return _detection(task, labels, outputs, image_size)
    return _regression(task, labels, outputs)
