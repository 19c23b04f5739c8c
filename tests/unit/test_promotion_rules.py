"""Pure rules of the feedback loop: promotion decision, data gate, auto-rollback, champion history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edgeloop.domain.auto_rollback import RateCount, RollbackRule
from edgeloop.domain.champion import ChampionError, ChampionPointer, first_pointer
from edgeloop.domain.promotion import DataCounts, ModelScores, PromotionPolicy, data_gate, decide_promotion

AT = datetime(2030, 1, 1, tzinfo=UTC)
POLICY = PromotionPolicy(primary_metric="roc_auc", margin=0.01, min_new_labels=50)


def scores(roc_auc: float, average_precision: float = 0.8) -> ModelScores:
    return ModelScores(roc_auc, average_precision, 0.7, 0.02, 0.01, 0.5)


def counts(**overrides: object) -> DataCounts:
    values: dict[str, object] = {
        "base_rows": 2000,
        "base_positive_rate": 0.034,
        "new_labelled_rows": 300,
        "new_positive_rows": 10,
        "out_of_schema_rows": 0,
        "train_classes": (0, 1),
        "holdout_classes": (0, 1),
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
    decision = decide_promotion(scores(0.975), scores(0.98), counts(), POLICY)
    assert decision.promote
    assert "0.9750" in decision.reasons[0]


def test_challenger_worse_by_more_than_the_margin_is_rejected() -> None:
    decision = decide_promotion(scores(0.96), scores(0.98), counts(), POLICY)
    assert decision.outcome == "rejected"
    assert "worse than the champion's 0.9800 by more than the margin 0.01" in decision.reasons[0]


def test_primary_metric_is_configurable() -> None:
    policy = PromotionPolicy(primary_metric="average_precision", margin=0.0)
    assert not decide_promotion(scores(0.99, 0.5), scores(0.90, 0.6), counts(), policy).promote
    assert decide_promotion(scores(0.80, 0.7), scores(0.90, 0.6), counts(), policy).promote


def test_a_vanished_class_rejects_even_a_better_model() -> None:
    decision = decide_promotion(scores(0.99), scores(0.9), counts(holdout_classes=(0,)), POLICY)
    assert decision.outcome == "rejected"
    assert decision.reasons == ("class [1] vanished from the held-out set",)


def test_inputs_outside_the_schema_beyond_the_share_reject() -> None:
    decision = decide_promotion(scores(0.99), scores(0.9), counts(out_of_schema_rows=30), POLICY)
    assert not decision.promote
    assert "10.0% of the new rows have inputs outside the model's schema" in decision.reasons[0]


def test_flipped_labels_are_caught_by_the_label_rate_check() -> None:
    decision = decide_promotion(scores(0.99), scores(0.9), counts(new_positive_rows=290), POLICY)
    assert not decision.promote
    assert "labels look wrong" in decision.reasons[0]


def test_a_small_batch_without_failures_passes_the_label_rate_check_a_large_one_not() -> None:
    # 60 rows at 3.4% would hold about 2 failures: none is plausible. 300 rows would hold about 10.
    small = counts(new_labelled_rows=60, new_positive_rows=0)
    assert decide_promotion(scores(0.98), scores(0.98), small, POLICY).promote
    large = counts(new_labelled_rows=300, new_positive_rows=0)
    assert not decide_promotion(scores(0.98), scores(0.98), large, POLICY).promote


def test_first_model_without_a_champion_is_promoted_when_sane() -> None:
    assert decide_promotion(scores(0.9), None, counts(), POLICY).promote
    assert not decide_promotion(scores(0.9), None, counts(train_classes=(0,)), POLICY).promote


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
