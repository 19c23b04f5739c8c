"""The InsightStore contract per model task (binary, multiclass, regression): typed labels,
per-model counters and each task's feedback measure, on every adapter (see conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from insight_factory import T0, class_insight, feedback, insight, value_insight

from edgeloop.domain.insights_view import Counts
from edgeloop.domain.model_stats import ModelKey
from edgeloop.domain.records import InsightRecord, Label, Record
from edgeloop.ports import InsightStore

BINARY = ModelKey("failure-risk", "1.0.0", "binary")
MULTICLASS = ModelKey("failure-mode", "1.0.0", "multiclass")
REGRESSION = ModelKey("tool-life", "1.0.0", "regression")


def _three_tasks() -> tuple[dict[str, InsightRecord], list[Record]]:
    """Insights of each task by name, and them with their feedback."""
    named = {
        "hit": insight(anomaly=True),
        "miss": insight("site-b", anomaly=False),
        "right": class_insight(predicted="wear"),
        "wrong": class_insight(predicted="none"),
        "no_class": class_insight(predicted=None),
        "unlabelled": class_insight("site-b"),
        "near": value_insight(predicted=100.0),
        "far": value_insight("site-b", predicted=40.0),
    }
    labels: dict[str, Label] = {
        "hit": 1, "miss": 1,  # the flag was right once, wrong once
        "right": "wear", "wrong": "power", "no_class": "wear",
        "near": 98.5, "far": 40.5,  # errors 1.5 and 0.5
    }  # fmt: skip
    return named, [*named.values(), *(feedback(named[name], label) for name, label in labels.items())]


def test_labels_read_back_with_their_type(store: InsightStore) -> None:
    digit_class, value, whole = class_insight(predicted="3"), value_insight(), value_insight(predicted=2.0)
    store.upsert(
        [digit_class, value, whole, feedback(digit_class, "3"), feedback(value, 97.25), feedback(whole, 2)]
    )
    labels = {}
    for record in (digit_class, value, whole):
        stored = store.get("site-a", record.insight_id)
        assert stored is not None
        assert stored.feedback is not None
        labels[record.insight_id] = stored.feedback.label
    assert labels[digit_class.insight_id] == "3"  # a class name, not the number 3
    assert labels[value.insight_id] == 97.25
    assert labels[whole.insight_id] == 2
    [mode] = [m for m in store.model_stats(None, None) if m.model == MULTICLASS]
    assert mode.accuracy == 1.0


def test_each_model_is_counted_with_its_tasks_measure(store: InsightStore) -> None:
    store.upsert(_three_tasks()[1])
    models = {m.model: m for m in store.model_stats(None, None)}
    assert list(models) == [MULTICLASS, BINARY, REGRESSION]  # sorted by name (failure-mode first)
    binary, multiclass, regression = models[BINARY], models[MULTICLASS], models[REGRESSION]
    assert binary.counts == Counts(scored=2, anomalies=1, feedback=2, feedback_correct=1, feedback_judged=2)
    assert (binary.accuracy, binary.mean_absolute_error, binary.sites) == (0.5, None, ("site-a", "site-b"))
    # The insight without a predicted class has feedback but is not judged.
    assert multiclass.counts == Counts(scored=4, feedback=3, feedback_correct=1, feedback_judged=2)
    assert (multiclass.accuracy, multiclass.quality_feedback) == (0.5, 2)
    assert regression.counts == Counts(scored=2, feedback=2, error_count=2, error_sum=2.0)
    assert (regression.accuracy, regression.mean_absolute_error) == (None, 1.0)
    assert regression.model.quality_measure == "mean_absolute_error"
    # A site's accuracy is over its classification feedback only: site-a has 1 of 1 binary, 1 of 2 multiclass.
    sites = {s.site_id: s for s in store.site_stats(None, None)}
    assert sites["site-a"].feedback_accuracy == pytest.approx(2 / 3)
    assert sites["site-a"].counts.feedback == 5


def test_redelivery_leaves_the_measures_and_a_later_feedback_replaces_the_earlier(
    store: InsightStore,
) -> None:
    named, records = _three_tasks()
    store.upsert(records)
    before = store.model_stats(None, None)
    store.upsert(records)
    store.upsert(list(reversed(records)))
    assert store.model_stats(None, None) == before
    wrong, far = named["wrong"], named["far"]
    later = T0 + timedelta(hours=1)
    store.upsert([feedback(wrong, "none", at=later), feedback(far, 42.5, at=later)])
    store.upsert([feedback(wrong, "power", at=T0 + timedelta(minutes=1))])  # older: loses
    models = {m.model: m for m in store.model_stats(None, None)}
    assert models[MULTICLASS].counts.feedback == 3
    assert models[MULTICLASS].accuracy == 1.0
    assert models[REGRESSION].counts.error_count == 2
    assert models[REGRESSION].mean_absolute_error == pytest.approx((1.5 + 2.5) / 2)


def test_a_label_of_another_tasks_type_counts_as_feedback_but_is_not_judged(store: InsightStore) -> None:
    flagged, valued = insight(anomaly=True), value_insight(predicted=5.0)
    store.upsert([flagged, valued, feedback(flagged, "failed"), feedback(valued, "worn")])
    models = {m.model: m for m in store.model_stats(None, None)}
    assert models[BINARY].counts.feedback == 1
    assert models[BINARY].accuracy is None
    assert models[REGRESSION].counts.feedback == 1
    assert models[REGRESSION].mean_absolute_error is None


def test_model_hours_add_up_the_sites_per_model_and_hour(store: InsightStore) -> None:
    store.upsert(
        [
            insight("site-a", at=T0, anomaly=True),
            insight("site-b", at=T0 + timedelta(minutes=20)),
            insight("site-a", at=T0 + timedelta(hours=2)),
            value_insight("site-b", at=T0 + timedelta(hours=1), anomaly=True),
        ]
    )
    hours = [
        (h.model.name, h.hour, h.counts.scored, h.counts.anomalies) for h in store.model_hours(None, None)
    ]
    assert hours == [
        ("failure-risk", T0, 2, 1),
        ("failure-risk", T0 + timedelta(hours=2), 1, 0),
        ("tool-life", T0 + timedelta(hours=1), 1, 1),
    ]
    # Ranges widen to whole hours, as the site statistics' do.
    window = store.model_hours(T0 + timedelta(minutes=30), T0 + timedelta(hours=1, minutes=30))
    assert [(h.model.name, h.hour) for h in window] == [
        ("failure-risk", T0),
        ("tool-life", T0 + timedelta(hours=1)),
    ]
    assert [m.model.name for m in store.model_stats(T0 + timedelta(hours=2), None)] == ["failure-risk"]
