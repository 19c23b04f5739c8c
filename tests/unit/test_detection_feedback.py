"""Operators' verdicts on detections as a frame's label, and the detection figures the gate decides on.

Pure parts (edgeloop.domain.detection_feedback), the recipe's window labels, the training set a
retraining builds from judged frames (edgeloop.training.detection_training_set: generated base
images, no fit), the evaluation of raw detection tensors (edgeloop.training.evaluation), and a
detector's golden sample checked by onnxruntime on the tiny detection bundle (tests/support).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.detection_bundles import detection_manifest_dict, quadrant_frame, tiny_detection_bundle

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.domain.detection_feedback import (
    BACKGROUND,
    FrameTruth,
    VerdictsMismatch,
    detection_scores,
    frame_truth,
)
from edgeloop.domain.detection_task import Detection
from edgeloop.domain.golden_images import golden_image_row
from edgeloop.domain.manifest import ModelManifest
from edgeloop.ports import LabelledRow
from edgeloop.recipes import detection_graph, surface_detection
from edgeloop.service_layer.golden_check import check_golden
from edgeloop.service_layer.model_publishing import golden_sample
from edgeloop.service_layer.signed_bundles import BundleRejected
from edgeloop.training.detection_training_set import build_detection_training_set
from edgeloop.training.evaluation import task_scores, unfit_outputs

# Two detections on the wire: a spot at the first window, a scratch at the window (8, 8)-(24, 24).
SPOT_BOX = [0.0, 0.0, 16 / 96, 16 / 96]
SCRATCH_BOX = [8 / 96, 8 / 96, 24 / 96, 24 / 96]
PREDICTION: list[Any] = ["spot", 0.9, *SPOT_BOX, "scratch", 0.7, *SCRATCH_BOX]


def test_accepted_boxes_are_the_frame_s_defects_and_rejected_ones_its_background() -> None:
    truth = frame_truth(PREDICTION, "accept,reject")
    assert truth == FrameTruth((("spot", tuple(SPOT_BOX)),), (tuple(SCRATCH_BOX),))
    pixels = truth.in_pixels(96, 96)
    assert pixels[0] == ("spot", pytest.approx((0.0, 0.0, 16.0, 16.0)))
    assert pixels[1] == (BACKGROUND, pytest.approx((8.0, 8.0, 24.0, 24.0)))


@pytest.mark.parametrize(
    ("prediction", "verdicts", "why"),
    [
        (PREDICTION, "accept", "1 verdicts for the insight's 2 detections"),
        (PREDICTION, "accept,accept,reject", "3 verdicts for the insight's 2 detections"),
        (["spot", 0.9, 0.0], "accept", "prediction"),
        (None, "accept", "prediction"),
    ],
)
def test_verdicts_that_do_not_judge_the_detections_one_for_one_are_refused(
    prediction: Any, verdicts: str, why: str
) -> None:
    with pytest.raises(VerdictsMismatch, match=why):
        frame_truth(prediction, verdicts)


def test_a_detection_on_its_accepted_defect_counts_as_found_and_one_on_background_as_wrong() -> None:
    truth = frame_truth(PREDICTION, "accept,reject").in_pixels(96, 96)
    spot = Detection("spot", 0.9, tuple(SPOT_BOX))  # type: ignore[arg-type]
    scratch = Detection("scratch", 0.7, tuple(SCRATCH_BOX))  # type: ignore[arg-type]
    assert detection_scores([[spot]], [truth], 96, 96) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    both = detection_scores([[spot, scratch]], [truth], 96, 96)
    assert both["precision"] == 0.5
    assert both["recall"] == 1.0
    assert detection_scores([[]], [truth], 96, 96)["recall"] == 0.0


MISSED = "scratch@0.5,0.5,0.75,0.75"  # a scratch the model did not find, drawn by the operator


def test_a_missed_box_is_one_of_the_frame_s_defects_and_the_model_that_missed_it_loses_recall() -> None:
    truth = frame_truth(PREDICTION, f"accept,reject;{MISSED}")
    assert truth.defects == (("spot", tuple(SPOT_BOX)), ("scratch", (0.5, 0.5, 0.75, 0.75)))
    assert truth.background == (tuple(SCRATCH_BOX),)
    pixels = truth.in_pixels(96, 96)
    assert pixels[1] == ("scratch", pytest.approx((48.0, 48.0, 72.0, 72.0)))
    spot = Detection("spot", 0.9, tuple(SPOT_BOX))  # type: ignore[arg-type]
    scores = detection_scores([[spot]], [pixels], 96, 96)
    assert (scores["precision"], scores["recall"]) == (1.0, 0.5)
    found = Detection("scratch", 0.8, (0.45, 0.45, 0.8, 0.8))
    assert detection_scores([[spot, found]], [pixels], 96, 96)["recall"] == 1.0


def test_a_frame_without_detections_is_labelled_by_its_missed_boxes_alone() -> None:
    truth = frame_truth([], f";{MISSED}")
    assert truth == FrameTruth((("scratch", (0.5, 0.5, 0.75, 0.75)),), ())
    with pytest.raises(VerdictsMismatch, match="the label missed defect 1"):
        frame_truth(PREDICTION, "accept,reject;scratch@0.5,0.5,0.5,0.75")


def test_an_accepted_box_s_window_learns_its_class_and_a_rejected_box_s_window_background() -> None:
    label = frame_truth(PREDICTION, "accept,reject").in_pixels(96, 96)
    classes = surface_detection.task().classes
    windows = surface_detection.window_labels([label], classes)[0]
    hard = surface_detection.hard_negative_windows([label])[0]
    scratch_window = detection_graph.GRID + 1  # row 1, column 1: the window (8, 8)-(24, 24)
    assert windows[0] == 1 + classes.index("spot")
    assert windows[scratch_window] == 0
    assert np.flatnonzero(windows).tolist() == [0]
    assert np.flatnonzero(hard).tolist() == [scratch_window]


def detection_manifest() -> ModelManifest:
    """The detection demo's shape (96 x 96, spot and scratch) on the tiny bundle's manifest."""
    document = detection_manifest_dict(classes=["spot", "scratch"], alert_classes=["spot"])
    document["inputs"][0].update(width=96, height=96)
    return ModelManifest.from_dict(document)


def frame_row(insight_id: str, verdicts: str, prediction: Any = PREDICTION) -> LabelledRow:
    frame = np.full((48, 64, 3), 120, dtype=np.uint8)  # any size: boxes are fractions of the input
    return LabelledRow(insight_id, {"image": frame}, verdicts, "plant-a", None, prediction)


def test_the_training_set_holds_base_images_then_judged_frames_in_the_input_s_pixels() -> None:
    base = surface_detection.generated_dataset(count=20, seed=4)
    frames = [frame_row("a", "accept,reject"), frame_row("b", "reject,reject"), frame_row("c", "accept")]
    training = build_detection_training_set(base, frames, detection_manifest())
    dataset, counts = training.dataset, training.counts
    assert dataset.n_rows == 22  # the frame whose verdicts miss a detection is left out
    assert dataset.labels[20] == (
        ("spot", pytest.approx((0.0, 0.0, 16.0, 16.0))),
        (BACKGROUND, pytest.approx((8.0, 8.0, 24.0, 24.0))),
    )
    assert [name for name, _ in dataset.labels[21]] == [BACKGROUND, BACKGROUND]
    assert dataset.site[20:].tolist() == ["plant-a", "plant-a"]
    assert training.trusted_holdout.tolist() == base.indices("holdout").tolist()
    assert (counts.new_labelled_rows, counts.out_of_schema_rows, counts.usable_new_rows) == (3, 1, 2)
    assert counts.new_class_rows == {"spot": 1, "scratch": 0}
    holding = sum(any(name == "spot" for name, _ in label) for label in base.labels.tolist())
    assert counts.base_class_rates["spot"] == holding / 20


def test_a_frame_s_missed_boxes_train_as_its_defects_and_an_unknown_class_leaves_it_out() -> None:
    base = surface_detection.generated_dataset(count=20, seed=4)
    frames = [
        frame_row("a", f"reject,reject;{MISSED}"),
        frame_row("b", f";{MISSED}", prediction=[]),
        frame_row("c", "accept,reject;dent@0.1,0.1,0.2,0.2"),  # not one of the champion's classes
    ]
    training = build_detection_training_set(base, frames, detection_manifest())
    dataset, counts = training.dataset, training.counts
    assert dataset.n_rows == 22
    assert dataset.labels[20] == (
        ("scratch", pytest.approx((48.0, 48.0, 72.0, 72.0))),
        (BACKGROUND, pytest.approx((0.0, 0.0, 16.0, 16.0))),
        (BACKGROUND, pytest.approx((8.0, 8.0, 24.0, 24.0))),
    )
    assert dataset.labels[21] == (("scratch", pytest.approx((48.0, 48.0, 72.0, 72.0))),)
    assert (counts.out_of_schema_rows, counts.new_class_rows) == (1, {"spot": 0, "scratch": 2})
    classes = surface_detection.task().classes
    windows = surface_detection.window_labels([dataset.labels[21]], classes)[0]
    assert np.flatnonzero(windows).size == 1  # the missed box's centre teaches its window "scratch"
    assert windows[np.flatnonzero(windows)[0]] == 1 + classes.index("scratch")


def raw_outputs(score: float, box: list[float]) -> dict[str, np.ndarray[Any, Any]]:
    """One image, one candidate: the graph's three tensors (box in input pixels)."""
    return {
        "boxes": np.array([[box]], dtype=np.float32),
        "classes": np.array([[0.0]], dtype=np.float32),
        "scores": np.array([[score]], dtype=np.float32),
    }


def test_a_detection_model_is_scored_from_its_raw_outputs_after_threshold_and_nms() -> None:
    task = detection_manifest().task
    labels = np.empty(1, dtype=object)
    labels[0] = (("spot", (2.0, 2.0, 10.0, 10.0)),)
    found = task_scores(task, labels, raw_outputs(0.9, [0, 0, 16, 16]), (96, 96))
    assert found == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    below_threshold = task_scores(task, labels, raw_outputs(0.2, [0, 0, 16, 16]), (96, 96))
    assert below_threshold["recall"] == 0.0
    with pytest.raises(ValueError, match="width and height"):
        task_scores(task, labels, raw_outputs(0.9, [0, 0, 16, 16]))


def test_non_finite_boxes_make_a_detection_challenger_unfit() -> None:
    task = detection_manifest().task
    assert unfit_outputs(task, task, raw_outputs(0.9, [0, 0, 16, 16])) is None
    problem = unfit_outputs(task, task, raw_outputs(0.9, [0, float("nan"), 16, 16]))
    assert problem == "1 held-out rows have non-finite outputs (boxes)"


def test_a_detector_s_golden_sample_is_frames_with_their_expected_detections(tmp_path: Path) -> None:
    model = OnnxModel.load(tiny_detection_bundle(tmp_path / "bundle"))
    frames = [quadrant_frame((0,)), quadrant_frame(())]
    golden = golden_sample(model, [golden_image_row("image", frame) for frame in frames])
    assert golden.expected["detection_0_class"] == (0.0, -1.0)  # a stain on the dark quadrant; none
    assert golden.expected["detection_0_x2"][0] == pytest.approx(0.5)
    assert golden.expected["detection_1_class"][0] == -1.0  # NMS kept one box: no second detection
    check_golden(model, golden)  # the site's check: the same frames, the same detections
    moved = replace(golden, expected={**golden.expected, "detection_0_x2": (0.75, 0.5)})
    with pytest.raises(BundleRejected, match="detection_0_x2"):
        check_golden(model, moved)
