"""How one feedback judges its insight's prediction, by the model's task.

- binary: the insight's anomaly flag against the reported outcome 0/1 (correct or not);
- multiclass: the predicted class against the reported class name (correct or not);
- regression: the absolute error ``|prediction - reported value|``;
- detection: each verdict on a detection is judged, an accepted one is correct (a found
  defect), a rejected one not; each missed box the operator drew is a defect the model did not
  find. So a detection model's *precision* is ``correct / judged`` (accepted / (accepted +
  rejected)) and its *recall* ``correct / (correct + missed)`` (accepted / (accepted + missed));
  edgeloop.domain.model_stats names them, never "accuracy".

A feedback is *judged* only when the label is of the task's type and the insight
carries what it is compared with (a multiclass or regression insight whose output
was not finite has no prediction): it still counts as feedback, not in the measure.
Kept as sums and counts, so the measures aggregate over hours, sites and models.
"""

from __future__ import annotations

from typing import NamedTuple

from edgeloop.domain.detection_labels import missed_count_of, verdicts_of
from edgeloop.domain.records import InsightRecord, Label, Prediction, TaskKind


class Judgement(NamedTuple):
    judged: int  # 1 when the classification was compared with the label (accuracy's denominator)
    correct: int  # 1 when that classification was right
    measured: int  # 1 when a regression error was measured (the mean's denominator)
    abs_error: float  # |prediction - label|, regression only
    missed: int = 0  # detection only: the defects the label adds that the model did not find


NOT_JUDGED = Judgement(0, 0, 0, 0.0)


def judge(insight: InsightRecord, label: Label) -> Judgement:
    return judge_outcome(insight.model.task, insight.anomaly, insight.prediction, label)


def judge_outcome(task: TaskKind, anomaly: bool, prediction: Prediction | None, label: Label) -> Judgement:
    """:func:`judge` on what a model said of a row (an insight's, or a shadow model's)."""
    if task == "binary":
        if isinstance(label, str) or label not in (0, 1):
            return NOT_JUDGED
        return Judgement(1, int(anomaly == (label == 1)), 0, 0.0)
    if task == "multiclass":
        if not isinstance(label, str) or not isinstance(prediction, str):
            return NOT_JUDGED
        return Judgement(1, int(prediction == label), 0, 0.0)
    if task == "detection":
        if not isinstance(label, str) or not isinstance(prediction, list):
            return NOT_JUDGED
        verdicts = verdicts_of(label)  # each accepted detection is a right one
        return Judgement(len(verdicts), sum(verdicts), 0, 0.0, missed_count_of(label))
    if isinstance(label, str) or not isinstance(prediction, int | float):
        return NOT_JUDGED
    return Judgement(0, 0, 1, abs(float(prediction) - float(label)))


def precision(accepted: int, rejected: int) -> float | None:
    """A detection model's precision: the share of its judged detections accepted; None without any."""
    return accepted / (accepted + rejected) if accepted + rejected else None


def recall(accepted: int, missed: int) -> float | None:
    """A detection model's recall: of the defects operators saw (accepted detections and missed
    boxes), the share it found; None without any."""
    return accepted / (accepted + missed) if accepted + missed else None
