"""Pure rules of the feedback loop: promotion per task, data gate, auto-rollback, champion history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edgeloop.domain.auto_rollback import RateCount, RollbackRule
from edgeloop.domain.champion import ChampionError, ChampionPointer, first_pointer
from edgeloop.domain.metrics import DEFAULT_EVALUATION, EvaluationSpec
from edgeloop.domain.promotion import DataCounts, PromotionPolicy, data_gate, decide_promotion

AT = datetime(2030, 1, 1, tzinfo=UTC)
POLICY = PromotionPolicy(min_new_labels=50)
BINARY = DEFAULT_EVALUATION["binary"]  # roc_auc, absolute margin 0.01, label shift 5x


def scores(roc_auc: float, average_precision: float = 0.8) -> dict[str, float]:
    return {"roc_auc": roc_auc, "average_precision": average_precision, "f1_at_threshold": 0.7}


def counts(
    new_positive_rows: int = 10,
    new_labelled_rows: int = 300,
    out_of_schema_rows: int = 0,
    duplicate_rows: int = 0,
    **overrides: object,
) -> DataCounts:
    """Binary counts: a 3.4 % base failure rate, new rows of which ``new_positive_rows`` failed."""
    usable = new_labelled_rows - out_of_schema_rows - duplicate_rows
    values: dict[str, object] = {
        "base_rows": 2000,
        "new_labelled_rows": new_labelled_rows,
        "out_of_schema_rows": out_of_schema_rows,
        "duplicate_rows": duplicate_rows,
        "classes": ("0", "1"),
        "train_classes": ("0", "1"),
        "holdout_classes": ("0", "1"),
        "base_class_rates": {"0": 0.966, "1": 0.034},
        "new_class_rows": {"0": usable - new_positive_rows, "1": new_positive_rows},
    }
    values.update(overrides)
    return DataCounts(**values)  # type: ignore[arg-type]


def test_too_little_new_data_is_skipped_and_says_how_much_is_needed() -> None:
    decision = data_gate(counts(new_labelled_rows=60, out_of_schema_rows=5, duplicate_rows=10), POLICY)
    assert decision is not None
    assert decision.outcome == "skipped"
    assert "45 new labelled rows usable" in decision.reasons[0]
    assert "at least 50" in decision.reasons[0]
    assert data_gate(counts(), POLICY) is None


def test_rows_the_champion_already_learnt_from_do_not_count_as_new() -> None:
    decision = data_gate(counts(new_labelled_rows=300, champion_new_rows=280), POLICY)
    assert decision is not None
    assert decision.outcome == "skipped"
    assert "only 20 new labelled rows usable since the champion was trained" in decision.reasons[0]
    assert data_gate(counts(new_labelled_rows=400, champion_new_rows=300), POLICY) is None


def test_challenger_within_the_margin_is_promoted() -> None:
    decision = decide_promotion(scores(0.975), scores(0.98), counts(), POLICY, BINARY)
    assert decision.promote
    assert "0.9750" in decision.reasons[0]


def test_challenger_worse_by_more_than_the_margin_is_rejected() -> None:
    decision = decide_promotion(scores(0.96), scores(0.98), counts(), POLICY, BINARY)
    assert decision.outcome == "rejected"
    assert "worse than the champion's 0.9800 by more than the margin 0.01" in decision.reasons[0]


def test_primary_metric_is_configurable_by_the_manifest_and_by_settings() -> None:
    by_manifest = EvaluationSpec("average_precision", 0.0)
    assert not decide_promotion(scores(0.99, 0.5), scores(0.90, 0.6), counts(), POLICY, by_manifest).promote
    assert decide_promotion(scores(0.80, 0.7), scores(0.90, 0.6), counts(), POLICY, by_manifest).promote
    by_settings = PromotionPolicy(primary_metric="average_precision", margin=0.0).evaluation(BINARY, "binary")
    assert by_settings == EvaluationSpec("average_precision", 0.0, "absolute", 5.0)
    with pytest.raises(ValueError, match="'mae' is not one of roc_auc"):
        PromotionPolicy(primary_metric="mae").evaluation(BINARY, "binary")


def test_a_vanished_class_rejects_even_a_better_model() -> None:
    decision = decide_promotion(scores(0.99), scores(0.9), counts(holdout_classes=("0",)), POLICY, BINARY)
    assert decision.outcome == "rejected"
    assert decision.reasons == ("class ['1'] vanished from the held-out set",)


def test_inputs_outside_the_schema_beyond_the_share_reject() -> None:
    decision = decide_promotion(scores(0.99), scores(0.9), counts(out_of_schema_rows=30), POLICY, BINARY)
    assert not decision.promote
    assert "10.0% of the new rows have inputs outside the model's schema" in decision.reasons[0]


def test_flipped_labels_are_caught_by_the_label_rate_check() -> None:
    decision = decide_promotion(scores(0.99), scores(0.9), counts(new_positive_rows=290), POLICY, BINARY)
    assert not decision.promote
    assert "labels look wrong" in decision.reasons[0]


def test_a_small_batch_without_failures_passes_the_label_rate_check_a_large_one_not() -> None:
    # 60 rows at 3.4% would hold about 2 failures: none is plausible. 300 rows would hold about 10.
    small = counts(new_labelled_rows=60, new_positive_rows=0)
    assert decide_promotion(scores(0.98), scores(0.98), small, POLICY, BINARY).promote
    large = counts(new_labelled_rows=300, new_positive_rows=0)
    assert not decide_promotion(scores(0.98), scores(0.98), large, POLICY, BINARY).promote


def test_first_model_without_a_champion_is_promoted_when_sane() -> None:
    assert decide_promotion(scores(0.9), None, counts(), POLICY, BINARY).promote
    assert not decide_promotion(scores(0.9), None, counts(train_classes=("0",)), POLICY, BINARY).promote


# --- multiclass and regression -----------------------------------------------------------------

MULTICLASS = DEFAULT_EVALUATION["multiclass"]  # macro_f1, absolute margin 0.02
REGRESSION = DEFAULT_EVALUATION["regression"]  # mae (lower is better), relative margin 5 %, 3 std


def multiclass_counts(new_class_rows: dict[str, int], **overrides: object) -> DataCounts:
    classes = ("none", "tool_wear", "heat")
    values: dict[str, object] = {
        "base_rows": 2000,
        "new_labelled_rows": sum(new_class_rows.values()),
        "out_of_schema_rows": 0,
        "task": "multiclass",
        "classes": classes,
        "train_classes": classes,
        "holdout_classes": classes,
        "base_class_rates": {"none": 0.9, "tool_wear": 0.06, "heat": 0.04},
        "new_class_rows": new_class_rows,
    }
    values.update(overrides)
    return DataCounts(**values)  # type: ignore[arg-type]


def regression_counts(new_target_mean: float, **overrides: object) -> DataCounts:
    values: dict[str, object] = {
        "base_rows": 2000,
        "new_labelled_rows": 200,
        "out_of_schema_rows": 0,
        "task": "regression",
        "base_target_mean": 40.0,
        "base_target_std": 5.0,
        "new_target_mean": new_target_mean,
    }
    values.update(overrides)
    return DataCounts(**values)  # type: ignore[arg-type]


def test_multiclass_promotes_on_macro_f1_within_the_margin() -> None:
    plausible = multiclass_counts({"none": 270, "tool_wear": 18, "heat": 12})
    champion = {"macro_f1": 0.80, "accuracy": 0.9, "log_loss": 0.3}
    assert decide_promotion({"macro_f1": 0.79}, champion, plausible, POLICY, MULTICLASS).promote
    worse = decide_promotion({"macro_f1": 0.77}, champion, plausible, POLICY, MULTICLASS)
    assert worse.outcome == "rejected"
    assert (
        "macro_f1 0.7700 is worse than the champion's 0.8000 by more than the margin 0.02" in worse.reasons[0]
    )


def test_multiclass_sanity_checks_name_the_class() -> None:
    champion = {"macro_f1": 0.5}
    vanished = multiclass_counts(
        {"none": 280, "tool_wear": 20, "heat": 0}, holdout_classes=("none", "tool_wear")
    )
    decision = decide_promotion({"macro_f1": 0.9}, champion, vanished, POLICY, MULTICLASS)
    assert "class ['heat'] vanished from the held-out set" in decision.reasons
    shifted = multiclass_counts({"none": 150, "tool_wear": 140, "heat": 10})  # 47 % tool wear vs 6 %
    reasons = decide_promotion({"macro_f1": 0.9}, champion, shifted, POLICY, MULTICLASS).reasons
    assert any("rate of class 'tool_wear'" in reason and "labels look wrong" in reason for reason in reasons)


def test_regression_lower_mae_is_better_with_a_relative_margin() -> None:
    counts_ok = regression_counts(41.0)
    champion = {"mae": 2.0, "rmse": 2.5, "r2": 0.8}
    assert decide_promotion({"mae": 2.09}, champion, counts_ok, POLICY, REGRESSION).promote  # 4.5 % worse
    worse = decide_promotion({"mae": 2.2}, champion, counts_ok, POLICY, REGRESSION)  # 10 % worse
    assert worse.outcome == "rejected"
    assert "by more than the margin 0.05 of the champion's" in worse.reasons[0]
    assert decide_promotion({"mae": 1.0}, champion, counts_ok, POLICY, REGRESSION).promote


def test_a_regression_target_far_from_the_base_mean_is_suspect() -> None:
    shifted = regression_counts(60.0)  # 4 standard deviations above the base mean
    decision = decide_promotion({"mae": 1.0}, {"mae": 2.0}, shifted, POLICY, REGRESSION)
    assert decision.outcome == "rejected"
    assert "4.0 standard deviations from the base data's 40" in decision.reasons[0]
    loose = PromotionPolicy(max_label_shift=5.0).evaluation(REGRESSION, "regression")
    assert decide_promotion({"mae": 1.0}, {"mae": 2.0}, shifted, POLICY, loose).promote


def test_counts_stay_meaningful_for_every_task() -> None:
    binary = counts().to_dict()
    assert binary["base_positive_rate"] == pytest.approx(0.034)
    assert binary["new_positive_rows"] == 10
    assert binary["classes"] == ["0", "1"]
    multiclass = multiclass_counts({"none": 9, "tool_wear": 1, "heat": 0}).to_dict()
    assert multiclass["new_class_rows"] == {"none": 9, "tool_wear": 1, "heat": 0}
    assert "base_positive_rate" not in multiclass
    regression = regression_counts(41.0).to_dict()
    assert (regression["base_target_mean"], regression["base_target_std"]) == (40.0, 5.0)


@pytest.mark.parametrize(
    ("previous", "current", "verdict"),
    [
        (RateCount(40, 1), RateCount(500, 400), "keep"),  # no baseline yet
        (RateCount(1000, 30), RateCount(100, 90), "wait"),  # window not full
        (RateCount(1000, 30), RateCount(200, 19), "roll_back"),  # 9.5% > 3 x 3%
        (RateCount(1000, 30), RateCount(200, 17), "keep"),  # 8.5% <= 9%
        (RateCount(1000, 0), RateCount(200, 3), "keep"),  # floor: 1 per window, 1.5% <= 1.5%
        (RateCount(1000, 0), RateCount(200, 4), "roll_back"),
    ],
)
def test_auto_rollback_rule(previous: RateCount, current: RateCount, verdict: str) -> None:
    rule = RollbackRule(multiple=3.0, window_rows=200, min_baseline_rows=50)
    assert rule.judge(previous, current)[0] == verdict


def test_champion_history_records_promotions_and_rollbacks_round_trip() -> None:
    pointer = first_pointer("m", "1", "start-up", "first champion", AT)
    pointer = pointer.promoted("2", "run a", "better", AT).promoted("3", "run b", "better", AT)
    assert pointer.rollback_target() == "2"
    back = pointer.rolled_back("alice", "too many alerts", AT)
    assert back.version == "2"
    assert back.history[-1].to_dict()["previous"] == "3"
    assert back.rolled_back("alice", "again", AT).version == "1"
    assert ChampionPointer.from_dict(back.to_dict()) == back


def test_rollback_without_a_previous_champion_is_refused() -> None:
    pointer = first_pointer("m", "1", "start-up", "first champion", AT)
    with pytest.raises(ChampionError, match="no previous champion"):
        pointer.rolled_back("alice", "why not", AT)


def test_a_malformed_pointer_is_refused() -> None:
    with pytest.raises(ChampionError, match="format"):
        ChampionPointer.from_dict({"name": "m", "version": "1"})
