"""What the form draws over a scored picture (scoring_app/image_views.py): pure functions, no app."""

from __future__ import annotations

import base64

from support.image_files import encoded, uniform

from edgeloop.domain.images import ImageProblem
from edgeloop.domain.tasks import BinaryTask, MulticlassTask
from scoring_app.image_views import Box, class_bars, data_url, problem_text

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
