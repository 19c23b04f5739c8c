"""How far a shadowed challenger agrees with the served model, and how right each was.

Per site and (served version, shadow version), over the shadow insights of that pair:

* ``rows``: shadow insights; ``agreement_rate``: the share where both said the same: the
  anomaly flag (binary), the class (multiclass, an image classifier's too), a value within
  ``tolerance`` (regression; absolute), the same set of defects (detection:
  :func:`detections_agree`);
* where the row got a feedback label (joined on the champion's insight id), each model is
  judged as feedback judges an insight (edgeloop.domain.feedback_quality): ``accuracy`` for a
  classifier, ``mean_abs_error`` for a regression, of the served model and of the shadow. A
  detection label judges the served model's detections (a verdict each, then the defects it
  missed): the served model's accuracy is the share of its detections accepted, its
  precision; the shadow's is its precision against the frame's truth that label gives
  (edgeloop.domain.detection_feedback.frame_truth: the accepted and the missed defects; a
  shadow detection is right when it has a defect's class and covers that defect's centre, each
  defect found at most once, as a retraining run counts), over the shadow's detections.

Kept as counts and sums, so summaries of slices add up; rates are None with nothing to count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from edgeloop.domain.detection_feedback import VerdictsMismatch, frame_truth, right_detections
from edgeloop.domain.detection_task import FIELDS, Detection
from edgeloop.domain.feedback_quality import Judgement, judge_outcome
from edgeloop.domain.records import Label, Prediction, TaskKind
from edgeloop.domain.shadow_records import ShadowInsightRecord

DEFAULT_REGRESSION_TOLERANCE = 0.0  # a regression agrees only on the same value unless told
DETECTION_MATCH_IOU = 0.5  # two detections of one defect: the same class, boxes at IoU >= this


@dataclass(frozen=True, slots=True)
class ShadowObservation:
    """A shadow insight and the feedback label on its champion insight (None: not labelled yet)."""

    record: ShadowInsightRecord
    label: Label | None = None


def agrees(record: ShadowInsightRecord, tolerance: float = DEFAULT_REGRESSION_TOLERANCE) -> bool:
    """Whether the shadow model said what the served one said of this row."""
    task, served, shadow = record.model.task, record.served.prediction, record.prediction
    if task == "binary":
        return record.anomaly == record.served.anomaly
    if task == "multiclass":
        return served is not None and served == shadow
    if task == "detection":
        if not isinstance(served, list) or not isinstance(shadow, list):
            return False  # an image whose candidates were not finite agrees with nothing
        return detections_agree(served, shadow)
    if not isinstance(served, int | float) or not isinstance(shadow, int | float):
        return False  # a value that was not finite agrees with nothing
    return abs(float(served) - float(shadow)) <= tolerance


def detections_of(flat: Sequence[Any]) -> list[Detection]:
    """A wire prediction's detections (class, score, x1, y1, x2, y2 each), in order."""
    return [
        Detection(str(flat[at]), float(flat[at + 1]), (float(flat[at + 2]), float(flat[at + 3]),
                  float(flat[at + 4]), float(flat[at + 5])))
        for at in range(0, len(flat) - FIELDS + 1, FIELDS)
    ]  # fmt: skip


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``x1, y1, x2, y2`` boxes (0 when neither has an area)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(width, 0.0) * max(height, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def detections_agree(
    served: Sequence[Any], shadow: Sequence[Any], min_iou: float = DETECTION_MATCH_IOU
) -> bool:
    """Whether two wire predictions name the same set of defects.

    The rule: the served and the shadow detections pair up one to one, each pair of the same
    class with boxes at IoU >= ``min_iou``, and none is left over on either side (so two
    frames with no detection agree; scores do not matter). Whether such a pairing exists is a
    perfect bipartite matching, found with augmenting paths: a greedy pairing could miss one.
    """
    ours, theirs = detections_of(served), detections_of(shadow)
    if len(ours) != len(theirs):
        return False
    candidates = [
        [j for j, other in enumerate(theirs)
         if other.class_name == one.class_name and box_iou(one.box, other.box) >= min_iou]
        for one in ours
    ]  # fmt: skip
    paired: list[int | None] = [None] * len(theirs)  # the served detection each shadow one is paired with

    def pair(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j not in seen:
                seen.add(j)
                held = paired[j]
                if held is None or pair(held, seen):
                    paired[j] = i
                    return True
        return False

    return all(pair(i, set()) for i in range(len(ours)))


def judge_shadow_detections(
    served: Prediction | None, shadow: Prediction | None, label: Label
) -> Judgement | None:
    """The shadow's detections against the frame's truth the label on the served ones gives:
    judged = the shadow's detections, correct = those that find a defect; None (not judged) when
    the label does not read against the served detections, or either prediction is not detections."""
    if not isinstance(label, str) or not isinstance(served, list) or not isinstance(shadow, list):
        return None
    try:
        truth = frame_truth(served, label)
    except VerdictsMismatch:
        return None
    found = detections_of(shadow)
    return Judgement(len(found), right_detections(found, truth.defects, 1, 1), 0, 0.0)


@dataclass(frozen=True, slots=True)
class ShadowSummary:
    site_id: str
    model_name: str
    served_version: str
    shadow_version: str
    task: TaskKind = "binary"
    rows: int = 0
    agreed: int = 0
    labelled: int = 0  # rows with a feedback label either model could be judged on
    served_correct: int = 0
    shadow_correct: int = 0
    served_judged: int = 0  # detection: the detections judged (the accuracies' denominators)
    shadow_judged: int = 0
    served_abs_error: float = 0.0  # sums over ``labelled`` (regression)
    shadow_abs_error: float = 0.0

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.site_id, self.model_name, self.served_version, self.shadow_version

    @property
    def agreement_rate(self) -> float | None:
        return None if self.rows == 0 else self.agreed / self.rows

    def _rate(self, value: float) -> float | None:
        return None if self.labelled == 0 else value / self.labelled

    @property
    def served_accuracy(self) -> float | None:
        """The share right (detection: of the served detections, the share accepted)."""
        if self.task != "detection":
            return None if self.task == "regression" else self._rate(self.served_correct)
        return None if self.served_judged == 0 else self.served_correct / self.served_judged

    @property
    def shadow_accuracy(self) -> float | None:
        """The share right (detection: of the shadow's detections, the share finding a defect)."""
        if self.task != "detection":
            return None if self.task == "regression" else self._rate(self.shadow_correct)
        return None if self.shadow_judged == 0 else self.shadow_correct / self.shadow_judged

    @property
    def served_mean_abs_error(self) -> float | None:
        return None if self.task != "regression" else self._rate(self.served_abs_error)

    @property
    def shadow_mean_abs_error(self) -> float | None:
        return None if self.task != "regression" else self._rate(self.shadow_abs_error)

    def add(self, observation: ShadowObservation, tolerance: float) -> ShadowSummary:
        """This summary with one more observation of its pair."""
        record, label = observation.record, observation.label
        counted = replace(self, rows=self.rows + 1, agreed=self.agreed + int(agrees(record, tolerance)))
        if label is None:
            return counted
        served = judge_outcome(self.task, record.served.anomaly, record.served.prediction, label)
        if self.task == "detection":
            judged = judge_shadow_detections(record.served.prediction, record.prediction, label)
            if judged is None:
                return counted  # a label that does not read against the served detections
            shadow = judged
        else:
            shadow = judge_outcome(self.task, record.anomaly, record.prediction, label)
            if served.judged + served.measured == 0 or shadow.judged + shadow.measured == 0:
                return counted  # a label of another type, or a prediction that was not finite
        return replace(
            counted,
            labelled=counted.labelled + 1,
            served_correct=counted.served_correct + served.correct,
            shadow_correct=counted.shadow_correct + shadow.correct,
            served_judged=counted.served_judged + served.judged,
            shadow_judged=counted.shadow_judged + shadow.judged,
            served_abs_error=counted.served_abs_error + served.abs_error,
            shadow_abs_error=counted.shadow_abs_error + shadow.abs_error,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id,
            "model": self.model_name,
            "served_version": self.served_version,
            "shadow_version": self.shadow_version,
            "task": self.task,
            "rows": self.rows,
            "agreement_rate": self.agreement_rate,
            "labelled": self.labelled,
            "served_accuracy": self.served_accuracy,
            "shadow_accuracy": self.shadow_accuracy,
            "served_mean_abs_error": self.served_mean_abs_error,
            "shadow_mean_abs_error": self.shadow_mean_abs_error,
        }


def summarize(
    observations: Iterable[ShadowObservation], tolerance: float = DEFAULT_REGRESSION_TOLERANCE
) -> list[ShadowSummary]:
    """One summary per (site, model, served version, shadow version), in that order."""
    summaries: dict[tuple[str, str, str, str], ShadowSummary] = {}
    for observation in observations:
        record = observation.record
        key = (record.site_id, record.model.name, record.served.version, record.model.version)
        current = summaries.get(key) or ShadowSummary(*key, task=record.model.task)
        summaries[key] = current.add(observation, tolerance)
    return [summaries[key] for key in sorted(summaries)]
