"""Whether a retrained model (the challenger) may replace the serving one (the champion).

Pure rules, applied in two steps by the retraining run:

1. :func:`data_gate` before any training: too few new labelled rows (beyond those
   the champion already learnt from) ends the run as *skipped* (a normal outcome,
   not an error, and no nightly churn of equivalent models);
2. :func:`decide_promotion` after both models were scored on the same held-out
   rows: sanity checks per task first (a class vanished, inputs outside the schema,
   the new labels' class rates or target mean far from the base data's), then the
   model's :class:`~edgeloop.domain.metrics.EvaluationSpec`: the challenger's primary
   metric may not be worse than the champion's by more than the margin.

A run whose challenger cannot be used at all (its recipe raised or timed out, its
graph disagrees with its manifest, its outputs are NaN) ends *failed*: nothing is
registered and the champion stays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from edgeloop.domain.metrics import TASK_METRICS, EvaluationSpec
from edgeloop.domain.tasks import TaskKind

Outcome = Literal["promoted", "rejected", "skipped", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("promoted", "rejected", "skipped", "failed")
Scores = Mapping[str, float]


@dataclass(frozen=True, slots=True)
class PromotionPolicy:
    """The deployment's gates; ``primary_metric`` / ``margin`` / ``max_label_shift`` override the
    model's evaluation spec when set (None: the manifest's, else the task's default)."""

    min_new_labels: int = 50  # labelled rows from the sites needed to start a run
    max_out_of_schema_share: float = 0.05  # of the new rows, outside the champion's input schema
    primary_metric: str | None = None
    margin: float | None = None
    max_label_shift: float | None = None

    def evaluation(self, spec: EvaluationSpec, task: TaskKind) -> EvaluationSpec:
        """``spec`` with this policy's overrides; ValueError for a metric the task does not have."""
        if self.primary_metric is not None and self.primary_metric not in TASK_METRICS[task]:
            known = ", ".join(TASK_METRICS[task])
            raise ValueError(f"primary metric {self.primary_metric!r} is not one of {known} ({task} task)")
        return replace(
            spec,
            primary_metric=self.primary_metric or spec.primary_metric,
            margin=spec.margin if self.margin is None else self.margin,
            max_label_shift=spec.max_label_shift if self.max_label_shift is None else self.max_label_shift,
        )


@dataclass(frozen=True, slots=True)
class DataCounts:
    """What the run's training set was built from. Classes are strings ("0"/"1" for binary);
    a regression run has no classes but the target's mean and standard deviation."""

    base_rows: int
    new_labelled_rows: int  # insights from the sites that have a feedback label
    out_of_schema_rows: int  # of the new labelled rows; left out of training and evaluation
    duplicate_rows: int = 0  # new rows identical to held-out base rows (replays); left out
    champion_new_rows: int = 0  # site rows the champion was trained on: only more than these are new
    unlabelled_insights: int = 0
    train_rows: int = 0
    holdout_rows: int = 0
    task: TaskKind = "binary"
    classes: tuple[str, ...] = ()  # every class the task knows (empty for regression)
    train_classes: tuple[str, ...] = ()
    holdout_classes: tuple[str, ...] = ()
    base_class_rates: Mapping[str, float] = field(default_factory=dict)
    new_class_rows: Mapping[str, int] = field(default_factory=dict)  # of the usable new rows
    base_target_mean: float | None = None
    base_target_std: float | None = None
    new_target_mean: float | None = None  # of the usable new rows

    @property
    def usable_new_rows(self) -> int:
        return self.new_labelled_rows - self.out_of_schema_rows - self.duplicate_rows

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("classes", "train_classes", "holdout_classes"):
            out[key] = list(out[key])
        out["base_class_rates"] = dict(self.base_class_rates)
        out["new_class_rows"] = dict(self.new_class_rows)
        out["usable_new_rows"] = self.usable_new_rows
        if self.task == "binary":  # the names reports and cards used before other tasks existed
            out["base_positive_rate"] = float(self.base_class_rates.get("1", 0.0))
            out["new_positive_rows"] = int(self.new_class_rows.get("1", 0))
        return out


@dataclass(frozen=True, slots=True)
class PromotionDecision:
    outcome: Outcome
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def promote(self) -> bool:
        return self.outcome == "promoted"

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "reasons": list(self.reasons)}


def data_gate(counts: DataCounts, policy: PromotionPolicy) -> PromotionDecision | None:
    """``skipped`` when there is too little new data to learn from; ``None`` to go on."""
    fresh = counts.usable_new_rows - counts.champion_new_rows
    if fresh < policy.min_new_labels:
        return PromotionDecision(
            "skipped",
            (
                f"only {max(fresh, 0)} new labelled rows usable since the champion was trained "
                f"({counts.new_labelled_rows} labelled, {counts.out_of_schema_rows} outside the schema, "
                f"{counts.duplicate_rows} duplicates of held-out rows, {counts.champion_new_rows} "
                f"already used by the champion); at least {policy.min_new_labels} needed",
            ),
        )
    return None


def _class_rate_problems(counts: DataCounts, max_shift: float) -> list[str]:
    usable = counts.usable_new_rows
    problems = []
    for name in counts.classes:
        base_rate = float(counts.base_class_rates.get(name, 0.0))
        if not usable or base_rate <= 0:
            continue
        new_rate = counts.new_class_rows.get(name, 0) / usable
        # Compare with a floor of one row, so a small clean batch without a rare class passes.
        ratio_up = new_rate / base_rate
        ratio_down = base_rate / max(new_rate, 1.0 / usable)
        if ratio_up > max_shift or ratio_down > max_shift:
            problems.append(
                f"rate of class {name!r} in the new labels {new_rate:.1%} is far from the base data's "
                f"{base_rate:.1%} (more than {max_shift:g}x apart): labels look wrong"
            )
    return problems


def _target_shift_problems(counts: DataCounts, max_shift: float) -> list[str]:
    mean, std, new_mean = counts.base_target_mean, counts.base_target_std, counts.new_target_mean
    if not counts.usable_new_rows or mean is None or new_mean is None or not std:
        return []
    shift = abs(new_mean - mean) / std
    if shift <= max_shift:
        return []
    return [
        f"mean of the new targets {new_mean:.4g} is {shift:.1f} standard deviations from the base "
        f"data's {mean:.4g} (at most {max_shift:g} allowed): labels look wrong"
    ]


def _sanity_problems(counts: DataCounts, policy: PromotionPolicy, evaluation: EvaluationSpec) -> list[str]:
    problems = []
    for where, classes in (("training set", counts.train_classes), ("held-out set", counts.holdout_classes)):
        missing = [name for name in counts.classes if name not in classes]
        if missing:
            problems.append(f"class {missing} vanished from the {where}")
    if counts.new_labelled_rows:
        share = counts.out_of_schema_rows / counts.new_labelled_rows
        if share > policy.max_out_of_schema_share:
            problems.append(
                f"{share:.1%} of the new rows have inputs outside the model's schema "
                f"(at most {policy.max_out_of_schema_share:.1%} allowed)"
            )
    if counts.task == "regression":
        problems += _target_shift_problems(counts, evaluation.max_label_shift)
    else:
        problems += _class_rate_problems(counts, evaluation.max_label_shift)
    return problems


def decide_promotion(
    challenger: Scores,
    champion: Scores | None,
    counts: DataCounts,
    policy: PromotionPolicy,
    evaluation: EvaluationSpec,
) -> PromotionDecision:
    """Promote only a sane challenger whose primary metric is within the margin of the champion's."""
    reasons = _sanity_problems(counts, policy, evaluation)
    name = evaluation.primary_metric
    ours = float(challenger[name])
    if champion is None:
        if reasons:
            return PromotionDecision("rejected", tuple(reasons))
        return PromotionDecision("promoted", (f"no champion yet; challenger {name} {ours:.4f}",))
    theirs = float(champion[name])
    worst = evaluation.allowed_worst(counts.task, theirs)
    better = evaluation.higher_is_better(counts.task)
    margin = f"{evaluation.margin:g}" + (" of the champion's" if evaluation.margin_kind == "relative" else "")
    if not math.isfinite(ours):
        reasons.append(f"challenger {name} is {ours}")
    elif (ours < worst) if better else (ours > worst):
        reasons.append(
            f"challenger {name} {ours:.4f} is worse than the champion's {theirs:.4f} "
            f"by more than the margin {margin}"
        )
    if reasons:
        return PromotionDecision("rejected", tuple(reasons))
    return PromotionDecision(
        "promoted",
        (f"challenger {name} {ours:.4f} vs champion {theirs:.4f} (margin {margin}); checks passed",),
    )
