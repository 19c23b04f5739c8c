"""How a model of a task is judged: its metrics, the primary one, and the promotion margin.

The manifest's optional ``evaluation`` object overrides the task's defaults:
binary ROC AUC (margin 0.01), multiclass macro-F1 (margin 0.02; log loss reported),
regression MAE (the challenger may be at most 5 % worse than the champion). A
``relative`` margin is a share of the champion's figure. ``max_label_shift`` bounds
how far the new labels' distribution may sit from the base data's before the run
calls the labels suspect (a ratio of rates for classes, a number of the base
data's standard deviations for a regression target). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from edgeloop.domain.manifest_specs import ManifestError
from edgeloop.domain.tasks import TaskKind

if TYPE_CHECKING:  # the documents' module imports this one at run time
    from edgeloop.domain.task_documents import EvaluationDocument

MarginKind = Literal["absolute", "relative"]

# Every metric a run may compute, by task, and whether more is better.
TASK_METRICS: Mapping[TaskKind, Mapping[str, bool]] = {
    "binary": {
        "roc_auc": True,
        "average_precision": True,
        "f1_at_threshold": True,
        "brier": False,
        "ece": False,
    },
    "multiclass": {"macro_f1": True, "accuracy": True, "log_loss": False},
    "regression": {"mae": False, "rmse": False, "r2": True, "interval_coverage": True},
    # Detections matched to labelled boxes (the demo's: edgeloop.recipes.surface_detection).
    "detection": {"f1": True, "precision": True, "recall": True},
}


@dataclass(frozen=True, slots=True)
class EvaluationSpec:
    primary_metric: str
    margin: float
    margin_kind: MarginKind = "absolute"
    max_label_shift: float = 5.0

    def higher_is_better(self, task: TaskKind) -> bool:
        return TASK_METRICS[task][self.primary_metric]

    def allowed_worst(self, task: TaskKind, champion: float) -> float:
        """The challenger's worst acceptable primary figure against the champion's."""
        slack = self.margin * abs(champion) if self.margin_kind == "relative" else self.margin
        return champion - slack if self.higher_is_better(task) else champion + slack

    def to_dict(self) -> dict[str, Any]:
        return {
            "primary_metric": self.primary_metric,
            "margin": self.margin,
            "margin_kind": self.margin_kind,
            "max_label_shift": self.max_label_shift,
        }


DEFAULT_EVALUATION: Mapping[TaskKind, EvaluationSpec] = {
    "binary": EvaluationSpec("roc_auc", 0.01, "absolute", 5.0),
    "multiclass": EvaluationSpec("macro_f1", 0.02, "absolute", 5.0),
    "regression": EvaluationSpec("mae", 0.05, "relative", 3.0),
    "detection": EvaluationSpec("f1", 0.02, "absolute", 5.0),
}


def parse_evaluation(document: EvaluationDocument, task: TaskKind) -> EvaluationSpec:
    """The manifest's ``evaluation`` (structure already checked) over the task's defaults."""
    default = DEFAULT_EVALUATION[task]
    metric = document.primary_metric or default.primary_metric
    if metric not in TASK_METRICS[task]:
        known = ", ".join(TASK_METRICS[task])
        raise ManifestError(
            "evaluation.primary_metric", f"must be one of {known} for a {task} task, got {metric!r}"
        )
    return EvaluationSpec(
        metric,
        default.margin if document.margin is None else document.margin,
        document.margin_kind or default.margin_kind,
        default.max_label_shift if document.max_label_shift is None else document.max_label_shift,
    )
