"""Per-model statistics, folded from the hourly counter rows: totals and hours, with the
feedback's measure of the model's task (edgeloop.domain.feedback_quality).

- binary and multiclass: accuracy, the share of judged feedback the model got right;
- regression: the mean absolute error, ``error_sum / error_count``;
- detection: precision, accepted / (accepted + rejected) detections, and recall, accepted /
  (accepted + missed): an accepted detection is a defect found, an operator's missed box one
  not found (its ``accepted``, ``rejected`` and ``missed`` counts say what they are over).

A model is its (name, version, task); its figures add up over every site using it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from edgeloop.domain.feedback_quality import precision, recall
from edgeloop.domain.insights_view import CounterKey, Counts, hour_start
from edgeloop.domain.records import TaskKind

QualityMeasure = Literal["accuracy", "mean_absolute_error", "precision"]
QUALITY_MEASURES: dict[TaskKind, QualityMeasure] = {
    "binary": "accuracy",
    "multiclass": "accuracy",
    "regression": "mean_absolute_error",
    "detection": "precision",
}


@dataclass(frozen=True, slots=True)
class ModelKey:
    name: str
    version: str
    task: TaskKind

    @property
    def quality_measure(self) -> QualityMeasure:
        return QUALITY_MEASURES[self.task]


@dataclass(frozen=True, slots=True)
class ModelFigures:
    """The counts of one model, over a range (:class:`ModelStats`) or one hour (:class:`ModelHour`)."""

    model: ModelKey
    counts: Counts

    @property
    def anomaly_rate(self) -> float | None:
        return self.counts.anomalies / self.counts.scored if self.counts.scored else None

    @property
    def accuracy(self) -> float | None:
        """Binary and multiclass only (a detection model's is its precision); None without judged feedback."""
        judged = self.counts.feedback_judged
        if self.model.quality_measure != "accuracy" or not judged:
            return None
        return self.counts.feedback_correct / judged

    @property
    def precision(self) -> float | None:
        """Detection only: the share of its detections operators accepted; None without verdicts."""
        verdicts = self.detection_verdicts
        return None if verdicts is None else precision(verdicts[0], verdicts[1])

    @property
    def recall(self) -> float | None:
        """Detection only: the share of the defects operators saw that it found; None without any."""
        verdicts = self.detection_verdicts
        return None if verdicts is None else recall(verdicts[0], verdicts[2])

    @property
    def detection_verdicts(self) -> tuple[int, int, int] | None:
        """Detection only: (accepted, rejected, missed) over its feedback."""
        if self.model.quality_measure != "precision":
            return None
        counts = self.counts
        return (
            counts.feedback_correct,
            counts.feedback_judged - counts.feedback_correct,
            counts.feedback_missed,
        )

    @property
    def mean_absolute_error(self) -> float | None:
        """Regression only, in the model's unit; None without measured feedback."""
        measured = self.counts.error_count
        if self.model.quality_measure != "mean_absolute_error" or not measured:
            return None
        return self.counts.error_sum / measured

    @property
    def quality_feedback(self) -> int:
        """How many feedback the measure is over (judged or measured; a detection model's: verdicts)."""
        if self.model.quality_measure != "mean_absolute_error":
            return self.counts.feedback_judged
        return self.counts.error_count


@dataclass(frozen=True, slots=True)
class ModelStats(ModelFigures):
    sites: tuple[str, ...]  # the sites that scored with it, sorted


@dataclass(frozen=True, slots=True)
class ModelHour(ModelFigures):
    hour: datetime


def _model(key: CounterKey) -> ModelKey:
    return ModelKey(key.model_name, key.model_version, key.task)


def model_stats(rows: Iterable[tuple[CounterKey, Counts]]) -> list[ModelStats]:
    """Per-model totals, sorted by name, version and task; models that scored nothing are left out."""
    totals: dict[ModelKey, Counts] = {}
    sites: dict[ModelKey, set[str]] = {}
    for key, counts in rows:
        model = _model(key)
        totals[model] = totals.get(model, Counts()) + counts
        if counts.scored > 0:
            sites.setdefault(model, set()).add(key.site_id)
    return [
        ModelStats(model, totals[model], tuple(sorted(sites.get(model, ()))))
        for model in sorted(totals, key=lambda m: (m.name, m.version, m.task))
        if totals[model].scored > 0
    ]


def model_hours(rows: Iterable[tuple[CounterKey, Counts]]) -> list[ModelHour]:
    """Per (model, hour) counts over all sites, sorted by model then hour; empty hours left out."""
    merged: dict[tuple[str, str, TaskKind, str], Counts] = {}
    for key, counts in rows:
        slot = (key.model_name, key.model_version, key.task, key.hour)
        merged[slot] = merged.get(slot, Counts()) + counts
    return [
        ModelHour(ModelKey(name, version, task), counts, hour_start(hour))
        for (name, version, task, hour), counts in sorted(merged.items())
        if counts.scored > 0
    ]
