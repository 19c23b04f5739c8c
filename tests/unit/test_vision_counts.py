"""The vision counters' rules (edgeloop.domain.vision_counts): which insights count, what a frame adds,
and that the difference of two states keeps the counters additive."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from edgeloop.domain.records import InsightRecord, ModelRef
from edgeloop.domain.vision_counts import (
    UPLOADS,
    VisionCounts,
    VisionKey,
    merge_classes,
    vision_contribution,
    vision_delta,
)

AT = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def image_insight(
    prediction: str | None = "ok",
    *,
    kinds: tuple[str, ...] = (),
    task: str = "multiclass",
    camera: str = "cam",
) -> InsightRecord:
    return InsightRecord(
        insight_id="b-00000",
        site_id="site-a",
        scored_at=AT,
        model=ModelRef("surface", "2.0.0", "ab" * 32, task),  # type: ignore[arg-type]
        inputs={},
        outputs={"p": 0.5},
        anomaly=bool(kinds),
        anomaly_kinds=kinds,
        context={"source": "camera", "camera_id": camera},
        prediction=prediction,
    )


KEY = VisionKey("site-a", "cam", "2024-05-01T12", "surface", "2.0.0")


def test_a_classified_frame_adds_its_class_and_a_defect_only_for_a_defect_class() -> None:
    assert vision_contribution(image_insight("ok")) == {KEY: VisionCounts(1, 0, 0, (("ok", 1),))}
    scratch = image_insight("scratch", kinds=("alert_class",))
    assert vision_contribution(scratch) == {KEY: VisionCounts(1, 1, 1, (("scratch", 1),))}
    unsure = image_insight("ok", kinds=("low_confidence",))
    assert vision_contribution(unsure) == {KEY: VisionCounts(1, 0, 1, (("ok", 1),))}
    assert vision_contribution(image_insight(None)) == {KEY: VisionCounts(1, 0, 0, ())}


def test_a_task_without_classes_counts_the_anomaly_flag_as_the_defect() -> None:
    flagged = image_insight(None, kinds=("high_risk",), task="binary")
    assert vision_contribution(flagged) == {KEY: VisionCounts(1, 1, 1, ())}


def test_a_detection_frame_counts_each_box_by_class_and_is_a_defect_for_an_alert_class() -> None:
    boxes = replace(
        image_insight(None, kinds=("alert_class",), task="detection"),
        outputs={"count_spot": 2.0, "count_scratch": 1.0, "count_stain": 0.0, "uncertain": 0.0},
    )
    assert vision_contribution(boxes) == {KEY: VisionCounts(1, 1, 1, (("scratch", 1), ("spot", 2)))}
    unsure = replace(boxes, anomaly_kinds=("low_confidence",))
    assert vision_contribution(unsure) == {KEY: VisionCounts(1, 0, 1, (("scratch", 1), ("spot", 2)))}
    invalid = replace(boxes, outputs={"count_spot": None}, anomaly_kinds=("invalid_output",))
    assert vision_contribution(invalid) == {KEY: VisionCounts(1, 0, 1, ())}


def test_uploads_count_under_no_camera_and_tabular_insights_not_at_all() -> None:
    upload = replace(image_insight(), context={"source": "upload"})
    assert list(vision_contribution(upload)) == [replace(KEY, camera_id=UPLOADS)]
    assert vision_contribution(replace(image_insight(), context={"product_id": "x"})) == {}
    assert vision_contribution(None) == {}


def test_the_delta_of_a_correction_moves_the_counts_and_a_redelivery_is_none() -> None:
    delta: dict[VisionKey, VisionCounts] = {}
    vision_delta((image_insight("ok"), None), (image_insight("ok"), None), delta)
    assert delta == {}
    vision_delta((image_insight("ok"), None), (image_insight("dent", kinds=("alert_class",)), None), delta)
    assert delta == {KEY: VisionCounts(0, 1, 1, (("dent", 1), ("ok", -1)))}
    vision_delta((None, None), (image_insight("ok", camera="other"), None), delta)
    assert delta[replace(KEY, camera_id="other")] == VisionCounts(1, 0, 0, (("ok", 1),))


def test_counts_add_up_class_by_class_and_drop_zeros() -> None:
    assert merge_classes((("a", 2), ("b", 1)), (("b", 1), ("c", 3)), -1) == (("a", 2), ("c", -3))
    total = VisionCounts(2, 1, 1, (("a", 2),)) + VisionCounts(2, 0, 1, (("b", 2),))
    assert total == VisionCounts(4, 1, 2, (("a", 2), ("b", 2)))
    assert (total + -total).is_zero()
    assert total.defect_rate == 0.25
    assert VisionCounts().defect_rate is None


def _boxes(found: int) -> InsightRecord:
    boxes = [value for n in range(found) for value in ("scratch", 0.9, 0.1, 0.1, 0.3, 0.3)]
    return replace(image_insight(None, task="detection"), prediction=boxes, outputs={"count_scratch": found})


def test_a_detection_frames_feedback_adds_its_verdicts_and_missed_defects() -> None:
    frame = _boxes(2)
    [counts] = vision_contribution(frame, "accept,reject;scratch@0.1,0.62,0.3,0.8").values()
    assert (counts.accepted, counts.rejected, counts.missed) == (1, 1, 1)
    assert (counts.precision, counts.recall) == (0.5, 0.5)
    [unlabelled] = vision_contribution(frame).values()
    assert (unlabelled.accepted, unlabelled.rejected, unlabelled.missed, unlabelled.recall) == (0, 0, 0, None)
    # A classifier's label adds no verdict (its figure is the model's accuracy, per model).
    [classified] = vision_contribution(image_insight("ok"), "dent").values()
    assert (classified.accepted, classified.rejected, classified.missed) == (0, 0, 0)


def test_a_changed_label_moves_the_verdicts_only() -> None:
    frame, delta = _boxes(1), {}
    vision_delta((frame, "accept"), (frame, "reject;scratch@0.1,0.62,0.3,0.8"), delta)
    assert delta == {KEY: VisionCounts(accepted=-1, rejected=1, missed=1)}
    vision_delta((frame, "accept"), (frame, "accept"), delta)  # a redelivery
    assert delta == {KEY: VisionCounts(accepted=-1, rejected=1, missed=1)}
