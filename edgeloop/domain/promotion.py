"""Whether a retrained model (the challenger) may replace the serving one (the champion).

Pure rules, applied in two steps by the retraining run:

1. :func:`data_gate` before any training: too few new labelled rows (beyond those
   the champion already learnt from) ends the run as *skipped* (a normal outcome,
   not an error, and no nightly churn of equivalent models);
2. :func:`decide_promotion` after both models were scored on the same held-out
   rows: sanity checks first (a class vanished, inputs outside the schema, labels
   far from the base data's balance), then the primary metric, where the
   challenger may not be worse than the champion by more than ``margin``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PrimaryMetric = Literal["roc_auc", "average_precision"]
Outcome = Literal["promoted", "rejected", "skipped"]


@dataclass(frozen=True, slots=True)
class ModelScores:
    """One model's scores on the held-out rows (F1 at the model's own threshold)."""

    roc_auc: float
    average_precision: float
    f1_at_threshold: float
    brier: float
    ece: float
    threshold: float

    def metric(self, name: PrimaryMetric) -> float:
        return float(getattr(self, name))

    def to_dict(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class PromotionPolicy:
    primary_metric: PrimaryMetric = "roc_auc"
    margin: float = 0.01  # the challenger may be at most this much worse on the primary metric
    min_new_labels: int = 50  # labelled rows from the sites needed to start a run
    max_out_of_schema_share: float = 0.05  # of the new rows, outside the champion's input schema
    # New labels whose failure rate is this many times the base data's (or 1/this) are suspect.
    max_label_rate_ratio: float = 5.0


@dataclass(frozen=True, slots=True)
class DataCounts:
    """What the run's training set was built from."""

    base_rows: int
    base_positive_rate: float
    new_labelled_rows: int  # insights from the sites that have a feedback label
    new_positive_rows: int
    out_of_schema_rows: int  # of the new labelled rows; left out of training and evaluation
    duplicate_rows: int = 0  # new rows identical to held-out base rows (replays); left out
    champion_new_rows: int = 0  # site rows the champion was trained on: only more than these are new
    unlabelled_insights: int = 0
    train_rows: int = 0
    train_classes: tuple[int, ...] = ()
    holdout_rows: int = 0
    holdout_classes: tuple[int, ...] = ()

    @property
    def usable_new_rows(self) -> int:
        return self.new_labelled_rows - self.out_of_schema_rows - self.duplicate_rows

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["train_classes"] = list(self.train_classes)
        out["holdout_classes"] = list(self.holdout_classes)
        out["usable_new_rows"] = self.usable_new_rows
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


def _sanity_problems(counts: DataCounts, policy: PromotionPolicy) -> list[str]:
    problems = []
    for where, classes in (("training set", counts.train_classes), ("held-out set", counts.holdout_classes)):
        missing = sorted({0, 1} - set(classes))
        if missing:
            problems.append(f"class {missing} vanished from the {where}")
    if counts.new_labelled_rows:
        share = counts.out_of_schema_rows / counts.new_labelled_rows
        if share > policy.max_out_of_schema_share:
            problems.append(
                f"{share:.1%} of the new rows have inputs outside the model's schema "
                f"(at most {policy.max_out_of_schema_share:.1%} allowed)"
            )
    usable = counts.usable_new_rows
    if usable and counts.base_positive_rate > 0:
        new_rate = counts.new_positive_rows / usable
        # Compare with a floor of one positive, so a small clean batch with no failures passes.
        ratio_up = new_rate / counts.base_positive_rate
        ratio_down = counts.base_positive_rate / max(new_rate, 1.0 / usable)
        if ratio_up > policy.max_label_rate_ratio or ratio_down > policy.max_label_rate_ratio:
            problems.append(
                f"failure rate of the new labels {new_rate:.1%} is far from the base data's "
                f"{counts.base_positive_rate:.1%} (more than {policy.max_label_rate_ratio:g}x apart): "
                "labels look wrong"
            )
    return problems


def decide_promotion(
    challenger: ModelScores,
    champion: ModelScores | None,
    counts: DataCounts,
    policy: PromotionPolicy,
) -> PromotionDecision:
    """Promote only a sane challenger that is not worse than the champion by more than the margin."""
    reasons = _sanity_problems(counts, policy)
    name = policy.primary_metric
    ours = challenger.metric(name)
    if champion is None:
        if reasons:
            return PromotionDecision("rejected", tuple(reasons))
        return PromotionDecision("promoted", (f"no champion yet; challenger {name} {ours:.4f}",))
    theirs = champion.metric(name)
    if ours < theirs - policy.margin:
        reasons.append(
            f"challenger {name} {ours:.4f} is worse than the champion's {theirs:.4f} "
            f"by more than the margin {policy.margin:g}"
        )
    if reasons:
        return PromotionDecision("rejected", tuple(reasons))
    return PromotionDecision(
        "promoted",
        (f"challenger {name} {ours:.4f} vs champion {theirs:.4f} (margin {policy.margin:g}); checks passed",),
    )
