"""Detection agreement (the same set of defects) and a detection shadow's precision on the served
model's verdicts: the rule of edgeloop.domain.shadow_agreement, against a brute-force reference
(every one-to-one pairing tried) with hypothesis, and the shadow insight's wire form for images."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import permutations
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeloop.domain.records import ModelRef, Prediction, RecordError, TaskKind
from edgeloop.domain.shadow_agreement import (
    ShadowObservation,
    agrees,
    box_iou,
    detections_agree,
    summarize,
)
from edgeloop.domain.shadow_records import ServedOutcome, ShadowInsightRecord, shadow_insight_from_wire

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CLASSES = ("scratch", "dent")


def flat(*detections: tuple[str, float, float, float, float]) -> list[Any]:
    """Wire detections of (class, x1, y1, x2, y2) boxes, each scored 0.9."""
    return [value for name, *box in detections for value in (name, 0.9, *box)]


def reference_agree(served: list[Any], shadow: list[Any], min_iou: float = 0.5) -> bool:
    """The rule, by brute force: some ordering of the shadow detections pairs each with the served one."""
    ours = [(served[i], served[i + 2 : i + 6]) for i in range(0, len(served), 6)]
    theirs = [(shadow[i], shadow[i + 2 : i + 6]) for i in range(0, len(shadow), 6)]
    if len(ours) != len(theirs):
        return False
    return any(
        all(a[0] == b[0] and box_iou(a[1], b[1]) >= min_iou for a, b in zip(ours, order, strict=True))
        for order in permutations(theirs)
    )


# Boxes on a coarse grid, so that overlaps at and around IoU 0.5 come up often.
coordinate = st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
detection = st.tuples(st.sampled_from(CLASSES), coordinate, coordinate, st.sampled_from([0.1, 0.2, 0.3])).map(
    lambda d: (d[0], d[1], d[2], d[1] + d[3], d[2] + d[3])
)
detection_sets = st.lists(detection, max_size=4).map(lambda items: flat(*items))


@settings(max_examples=300, deadline=None)
@given(detection_sets, detection_sets)
def test_detections_agree_as_the_brute_force_reference(served: list[Any], shadow: list[Any]) -> None:
    assert detections_agree(served, shadow) == reference_agree(served, shadow)
    assert detections_agree(served, shadow) == detections_agree(shadow, served)


@settings(max_examples=100, deadline=None)
@given(detection_sets, st.randoms(use_true_random=False))
def test_a_set_agrees_with_itself_in_any_order(found: list[Any], rng: Any) -> None:
    items = [found[i : i + 6] for i in range(0, len(found), 6)]
    rng.shuffle(items)
    assert detections_agree(found, [value for item in items for value in item])


def test_the_rule_on_named_cases() -> None:
    a = ("scratch", 0.1, 0.1, 0.3, 0.3)
    assert detections_agree([], [])  # no defect on either side
    assert detections_agree(flat(a), flat(("scratch", 0.12, 0.1, 0.32, 0.3)))  # IoU ~0.82
    assert not detections_agree(flat(a), flat(("dent", 0.1, 0.1, 0.3, 0.3)))  # another class
    assert not detections_agree(flat(a), flat(("scratch", 0.2, 0.1, 0.4, 0.3)))  # IoU 1/3
    assert not detections_agree(flat(a), flat(a, a))  # one left over
    assert not detections_agree(flat(a), [])
    # Served A overlaps shadow X and Y, served B only X: pairing A with the first it overlaps (X)
    # would leave B unpaired; the rule pairs A with Y.
    served_a, served_b = ("scratch", 0.0, 0.0, 0.4, 0.2), ("scratch", 0.15, 0.0, 0.45, 0.2)
    shadow_x, shadow_y = ("scratch", 0.1, 0.0, 0.4, 0.2), ("scratch", 0.0, 0.0, 0.3, 0.2)
    assert detections_agree(flat(served_a, served_b), flat(shadow_x, shadow_y))


def record(
    n: int, task: TaskKind, prediction: Prediction | None, served: Prediction | None
) -> ShadowInsightRecord:
    return ShadowInsightRecord(
        insight_id=f"{n:032x}-00000",
        site_id="site-a",
        scored_at=NOW,
        model=ModelRef("surface", "2", "ab" * 32, task),
        served=ServedOutcome("1", False, served),
        outputs={"count_scratch": 1.0},
        anomaly=False,
        prediction=prediction,
    )


def test_detection_agreement_and_precision_on_the_served_verdicts() -> None:
    scratch, dent = ("scratch", 0.1, 0.1, 0.3, 0.3), ("dent", 0.6, 0.6, 0.8, 0.8)
    elsewhere = ("scratch", 0.5, 0.1, 0.7, 0.3)
    observations = [
        # Both found the scratch; the operator accepted it and drew the dent both missed.
        ShadowObservation(
            record(1, "detection", flat(scratch), flat(scratch)), "accept;dent@0.6,0.6,0.8,0.8"
        ),
        # The served model's box was rejected (background); the shadow found the dent elsewhere.
        ShadowObservation(record(2, "detection", flat(dent), flat(elsewhere)), "reject;dent@0.6,0.6,0.8,0.8"),
        ShadowObservation(record(3, "detection", [], []), None),  # agree: nothing on either side
        ShadowObservation(record(4, "detection", flat(scratch), None), "accept"),  # invalid: not judged
    ]
    (summary,) = summarize(observations)
    assert summary.task == "detection"
    assert (summary.rows, summary.agreement_rate) == (4, 0.5)
    assert summary.labelled == 2
    assert summary.served_accuracy == 0.5  # 1 of 2 served detections accepted
    assert summary.shadow_accuracy == 1.0  # both shadow detections find a defect of the truth
    assert summary.to_dict()["shadow_accuracy"] == 1.0


def test_an_image_classifier_agrees_on_the_class() -> None:
    assert agrees(record(1, "multiclass", "scratch", "scratch"))
    assert not agrees(record(2, "multiclass", "scratch", "clean"))


def test_an_image_shadow_insight_round_trips_its_detections() -> None:
    original = record(1, "detection", flat(("scratch", 0.1, 0.1, 0.3, 0.3)), [])
    wire = original.to_wire()
    assert shadow_insight_from_wire(wire) == original
    bad = wire | {"served": wire["served"] | {"prediction": ["scratch", 0.9, 0.1]}}
    with pytest.raises(RecordError) as refused:
        shadow_insight_from_wire(bad)
    assert refused.value.field == "served.prediction"
