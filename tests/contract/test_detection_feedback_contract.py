"""The InsightStore contract for a detection model's feedback, on every adapter (see conftest.py):
its accepted, rejected and missed counts (a label's verdicts, then its missed boxes), its
precision and recall, kept at ingest in the counters and both rollups, so every read agrees,
redelivery changes nothing and a changed label moves its counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from insight_factory import T0, detection_insight, feedback, insight

from edgeloop.domain.model_stats import ModelKey, ModelStats
from edgeloop.domain.records import InsightRecord, Record
from edgeloop.ports import InsightStore

DETECTION = ModelKey("surface-detection", "1", "detection")
SCRATCH = "scratch@0.1,0.62,0.3,0.8"
DENT = "dent@0.5,0.5,0.7,0.9"
RANGE = (T0, T0 + timedelta(hours=3))


def _labelled() -> tuple[dict[str, InsightRecord], list[Record]]:
    named = {
        "two": detection_insight(),  # accept, reject; a missed scratch
        "one": detection_insight("site-b", 1, hour=1),  # accepted
        "none": detection_insight("site-b", 0, hour=2),  # no detection; two missed boxes
    }
    labels = {"two": f"accept,reject;{SCRATCH}", "one": "accept", "none": f";{SCRATCH};{DENT}"}
    return named, [*named.values(), *(feedback(named[name], label) for name, label in labels.items())]


def _model(models: list[ModelStats]) -> ModelStats:
    [model] = [m for m in models if m.model == DETECTION]
    return model


def _readings(store: InsightStore) -> list[object]:
    """Every read that carries the model's counts: all time (the rollups) and a range (the counters)."""
    hours = [h for h in store.model_hours(*RANGE) if h.model == DETECTION]
    return [
        _model(store.model_stats(None, None)),
        _model(store.model_stats(*RANGE)),
        [(h.hour, h.detection_verdicts) for h in hours],
        [(s.site_id, s.counts.feedback_missed) for s in store.site_stats(None, None)],
        [(s.site_id, s.counts.feedback_missed) for s in store.site_totals(*RANGE)],
    ]


def test_a_detection_model_counts_accepted_rejected_and_missed_with_precision_and_recall(
    store: InsightStore,
) -> None:
    store.upsert(_labelled()[1])
    model = _model(store.model_stats(None, None))
    assert model.detection_verdicts == (2, 1, 3)  # accepted, rejected, missed
    assert model.model.quality_measure == "precision"
    assert (model.precision, model.recall, model.accuracy) == (pytest.approx(2 / 3), 0.4, None)
    assert model.quality_feedback == 3  # the verdicts
    assert model.counts.feedback == 3
    assert _model(store.model_stats(*RANGE)) == model  # the counters agree with the rollup
    hours = [(h.hour, h.detection_verdicts) for h in store.model_hours(*RANGE) if h.model == DETECTION]
    assert hours == [
        (T0, (1, 1, 1)),
        (T0 + timedelta(hours=1), (1, 0, 0)),
        (T0 + timedelta(hours=2), (0, 0, 2)),
    ]
    sites = {s.site_id: s.counts.feedback_missed for s in store.site_totals(*RANGE)}
    assert sites == {"site-a": 1, "site-b": 2}


def test_redelivery_changes_nothing_and_a_changed_label_moves_the_missed_count(store: InsightStore) -> None:
    named, records = _labelled()
    store.upsert(records)
    before = _readings(store)
    store.upsert(records)
    store.upsert(list(reversed(records)))
    assert _readings(store) == before
    later = T0 + timedelta(hours=5)
    # The operator looks again: both detections right, and no scratch missed but a dent.
    store.upsert([feedback(named["two"], f"accept,accept;{DENT}", at=later)])
    store.upsert([feedback(named["two"], f"reject,reject;{SCRATCH};{DENT}", at=T0 + timedelta(minutes=1))])
    model = _model(store.model_stats(None, None))
    assert model.detection_verdicts == (3, 0, 3)
    assert (model.precision, model.recall) == (1.0, 0.5)
    assert _model(store.model_stats(*RANGE)) == model
    # A missed box taken back: the frame's label is verdicts only.
    store.upsert([feedback(named["none"], f";{DENT}", at=later)])
    assert _model(store.model_stats(None, None)).detection_verdicts == (3, 0, 2)
    assert [(s.site_id, s.counts.feedback_missed) for s in store.site_totals(None, None)] == [
        ("site-a", 1),
        ("site-b", 1),
    ]


def test_a_model_of_another_task_has_no_detection_figures(store: InsightStore) -> None:
    flagged = insight(anomaly=True)
    store.upsert([flagged, feedback(flagged, 1), *_labelled()[1]])
    [binary] = [m for m in store.model_stats(None, None) if m.model.task == "binary"]
    assert (binary.precision, binary.recall, binary.detection_verdicts) == (None, None, None)
    assert (binary.accuracy, binary.counts.feedback_missed) == (1.0, 0)
