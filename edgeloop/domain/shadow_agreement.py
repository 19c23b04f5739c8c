"""How far a shadowed challenger agrees with the served model, and how right each was.

Per site and (served version, shadow version), over the shadow insights of that pair:

* ``rows``: shadow insights; ``agreement_rate``: the share where both said the same: the
  anomaly flag (binary), the class (multiclass), a value within ``tolerance`` (regression;
  absolute);
* where the row got a feedback label (joined on the champion's insight id), each model is
  judged as feedback judges an insight (edgeloop.domain.feedback_quality): ``accuracy`` for a
  classifier, ``mean_abs_error`` for a regression, of the served model and of the shadow.

Kept as counts and sums, so summaries of slices add up; rates are None with nothing to count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from edgeloop.domain.feedback_quality import judge_outcome
from edgeloop.domain.records import Label, TaskKind
from edgeloop.domain.shadow_records import ShadowInsightRecord

DEFAULT_REGRESSION_TOLERANCE = 0.0  # a regression agrees only on the same value unless told


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
    if not isinstance(served, int | float) or not isinstance(shadow, int | float):
        return False  # a value that was not finite agrees with nothing
    return abs(float(served) - float(shadow)) <= tolerance


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
        return None if self.task == "regression" else self._rate(self.served_correct)

    @property
    def shadow_accuracy(self) -> float | None:
        return None if self.task == "regression" else self._rate(self.shadow_correct)

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
        shadow = judge_outcome(self.task, record.anomaly, record.prediction, label)
        if served.judged + served.measured == 0 or shadow.judged + shadow.measured == 0:
            return counted  # a label of another type, or a prediction that was not finite
        return replace(
            counted,
            labelled=counted.labelled + 1,
            served_correct=counted.served_correct + served.correct,
            shadow_correct=counted.shadow_correct + shadow.correct,
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
