"""What the form draws over a scored picture (scoring_app/image_views.py): pure functions, no app."""

from __future__ import annotations

import base64

from support.image_files import encoded, uniform

from edgeloop.domain.images import ImageProblem, ImageSource
from edgeloop.domain.tasks import BinaryTask, MulticlassTask
from edgeloop.service_layer.image_scoring import ScoredImage, ScoredImages
from scoring_app.image_views import Box, Overlay, class_bars, data_url, image_result, problem_text

TASK = MulticlassTask(("ok", "scratch"), ("p_ok", "p_scratch"))


def test_the_picture_goes_back_typed_by_its_own_bytes() -> None:
    png, jpeg = encoded(uniform(100)), encoded(uniform(100), "JPEG")
    assert data_url(png) == "data:image/png;base64," + base64.b64encode(png).decode()
    assert data_url(jpeg).startswith("data:image/jpeg;base64,")


def test_the_bars_follow_the_classes_and_clip_what_is_not_a_probability() -> None:
    bars = class_bars(TASK, {"p_ok": 0.25, "p_scratch": None}, "ok")
    assert [(bar.name, bar.fraction, bar.text, bar.predicted) for bar in bars] == [
        ("ok", 0.25, "25.0 %", True),
        ("scratch", 0.0, "—", False),
    ]
    assert class_bars(TASK, {"p_ok": 1.5, "p_scratch": float("nan")}, None)[0].fraction == 1.0
    assert class_bars(BinaryTask("p", 0.5), {"p": 0.5}, None) == []


def test_a_box_is_placed_in_percentages_of_the_picture() -> None:
    assert Box(0.1, 0.25, 0.5, 0.125).style() == "left: 10.00%; top: 25.00%; width: 50.00%; height: 12.50%"


def test_a_refusal_names_the_file() -> None:
    problem = ImageProblem(0, "anim.gif", "unsupported_type", "not a JPEG or PNG image")
    assert problem_text(problem, "ignored.gif") == "anim.gif: not a JPEG or PNG image"
    assert problem_text(ImageProblem(None, None, "too_many", "at most 1"), "a.png") == "a.png: at most 1"


def scored(outputs: dict[str, float | None], prediction: object) -> ScoredImages:
    image = ScoredImage(0, "a.png", "batch-00000", outputs, prediction, False, ())
    return ScoredImages("m", "1", "batch", ImageSource.upload(["a.png"]), (image,))


def test_a_classification_is_one_overlay_over_the_whole_picture_with_the_right_or_wrong_control() -> None:
    result = image_result(TASK, scored({"p_ok": 0.75, "p_scratch": 0.25}, "ok"), "a.png", encoded(uniform(9)))
    assert result["overlays"] == [Overlay("ok", "75.0 %")]
    assert result["predicted"] == "ok"  # offered as "Right: ok"


def test_a_binary_image_model_draws_its_risk_and_takes_its_outcome_as_the_rows_do() -> None:
    result = image_result(BinaryTask("p", 0.5), scored({"p": 0.9}, None), "a.png", encoded(uniform(9)))
    assert result["overlays"] == [Overlay("90.0 %", "")]
    assert result["bars"] == []
    assert result["predicted"] is None  # no right/wrong control: the recent table's buttons
