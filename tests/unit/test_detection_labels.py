"""A detection label's grammar (edgeloop.domain.detection_labels): verdicts, then the missed boxes.

Pure: the parser, its errors (each names what is wrong and where), the bounds (missed boxes,
characters), the labels of before, and the text a parsed label writes back (hypothesis: any
label the form can build reads back as itself).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeloop.domain.detection_labels import (
    MAX_MISSED,
    DetectionLabel,
    DetectionLabelError,
    MissedDefect,
    label_pattern,
    parse_detection_label,
    verdicts_of,
)
from edgeloop.domain.label_bounds import MAX_LABEL_LENGTH
from edgeloop.domain.tasks import DetectionTask

CLASSES = ("stain", "glare")
TASK = DetectionTask(CLASSES, "boxes", "classes", "scores", max_detections=4)


def test_verdicts_alone_read_as_before() -> None:
    assert parse_detection_label("accept,reject,accept") == DetectionLabel((True, False, True))
    assert verdicts_of("accept,reject") == [True, False]


def test_missed_boxes_follow_the_verdicts_each_a_class_and_its_corners() -> None:
    label = parse_detection_label("accept;glare@0.1,0.25,0.5,1;stain@0,0,0.0625,0.1", CLASSES)
    assert label.verdicts == (True,)
    assert label.missed == (
        MissedDefect("glare", (0.1, 0.25, 0.5, 1.0)),
        MissedDefect("stain", (0.0, 0.0, 0.0625, 0.1)),
    )
    assert verdicts_of("accept;glare@0.1,0.25,0.5,1") == [True]


def test_a_frame_with_no_detection_takes_missed_boxes_alone() -> None:
    label = parse_detection_label(";stain@0.5,0.5,1,1", CLASSES)
    assert label == DetectionLabel((), (MissedDefect("stain", (0.5, 0.5, 1.0, 1.0)),))
    assert verdicts_of(";stain@0.5,0.5,1,1") == []


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("", "1 to 200 characters"),
        ("yes", "verdict 1 is 'yes', not accept or reject"),
        ("accept,,reject", "verdict 2 is ''"),
        (";", r"missed defect 1 \(''\) must be class@x1,y1,x2,y2"),
        ("accept;dent@0.1,0.1,0.2,0.2", "unknown class 'dent', not one of stain, glare"),
        ("accept;stain@0.1,0.1,1.2,0.2", "x2 is 1.2, out of 0..1"),
        ("accept;stain@0.1,0.1,0.2", "must have 4 corners"),
        ("accept;stain@0.1,nan,0.2,0.3", "y1 must be a number with at most 4 decimals"),
        ("accept;stain@0.1,0.1,0.2,1e-1", "y2 must be a number"),
        ("accept;stain@0.1,0.1,0.123456,0.3", "x2 must be a number with at most 4 decimals"),
        ("accept;stain@0.5,0.1,0.5,0.3", "needs x1 < x2 and y1 < y2"),
        ("accept;stain@0.1,0.4,0.5,0.3", "needs x1 < x2 and y1 < y2"),
        ("accept" + ";stain@0,0,1,1" * (MAX_MISSED + 1), f"adds {MAX_MISSED + 1} missed defects, at most 5"),
        ("accept,reject,accept,reject,accept", "judges 5 detections; the model finds at most 4"),
        ("accept," * 40 + "accept", f"must have 1 to {MAX_LABEL_LENGTH} characters, got 286"),
    ],
    ids=[
        "empty",
        "not-a-verdict",
        "empty-verdict",
        "empty-box",
        "unknown-class",
        "out-of-range",
        "three-corners",
        "nan",
        "exponent",
        "too-many-decimals",
        "flat-x",
        "flat-y",
        "too-many-boxes",
        "too-many-verdicts",
        "too-long",
    ],
)
def test_a_label_off_the_grammar_is_refused_saying_what_is_wrong(label: str, why: str) -> None:
    with pytest.raises(DetectionLabelError, match=why) as refused:
        TASK.parse_label(label)
    assert TASK.label_problem(label) == str(refused.value)  # what the API and the form answer


def test_any_class_is_read_when_none_are_given_and_a_label_must_be_a_string() -> None:
    assert parse_detection_label(";dent@0,0,1,1").missed[0].class_name == "dent"
    assert TASK.label_problem(3) is not None
    assert TASK.label_problem("accept;stain@0,0,1,1") is None


_CORNER = st.integers(0, 10_000).map(lambda n: n / 10_000)


@st.composite
def labels(draw: st.DrawFn) -> DetectionLabel:
    verdicts = tuple(draw(st.lists(st.booleans(), max_size=4)))
    missed = []
    for _ in range(draw(st.integers(0 if verdicts else 1, MAX_MISSED))):
        x1, x2 = sorted(draw(st.lists(_CORNER, min_size=2, max_size=2, unique=True)))
        y1, y2 = sorted(draw(st.lists(_CORNER, min_size=2, max_size=2, unique=True)))
        missed.append(MissedDefect(draw(st.sampled_from(CLASSES)), (x1, y1, x2, y2)))
    return DetectionLabel(verdicts, tuple(missed))


@given(labels())
def test_a_parsed_label_writes_back_the_text_it_was_read_from(label: DetectionLabel) -> None:
    text = label.to_text()
    assert len(text) <= MAX_LABEL_LENGTH
    assert TASK.parse_label(text) == label
    assert re.fullmatch(label_pattern(CLASSES), text)  # the OpenAPI schema's pattern takes it too


def test_the_schema_s_pattern_refuses_what_the_grammar_cannot_read() -> None:
    pattern = label_pattern(CLASSES)
    for text in ("yes", "accept;dent@0,0,1,1", "accept;stain@0,0,1", "accept;stain@0,0,1,1e0"):
        assert re.fullmatch(pattern, text) is None, text
