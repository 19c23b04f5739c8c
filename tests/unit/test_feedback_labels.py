"""Feedback labels per task, through the API's decoder (JSON bytes in, typed items or 422 out).

The rule each task keeps is written here on its own terms, apart from edgeloop.domain.tasks:
binary takes the integers 0 and 1 (not true/false, not 1.0); multiclass takes one of its class
names, exactly (case and spaces count); regression takes any finite JSON number, integer or
not (a JSON body cannot spell NaN or infinity). Anything else is refused naming the item's
``label`` and nothing else; an accepted label keeps its value and its type.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeloop.domain.problems import InvalidInput
from edgeloop.domain.tasks import BinaryTask, MulticlassTask, RegressionTask, Task
from scoring_app.decoding.feedback_body import feedback_items

INSIGHT_ID = "a" * 32 + "-00000"
CLASSES = ("none", "TWF", "HDF", "PWF", "OSF")
TASKS: dict[str, Task] = {
    "binary": BinaryTask("risk", 0.5, ("did not fail", "failed")),
    "multiclass": MulticlassTask(CLASSES, tuple(f"p_{name}" for name in CLASSES)),
    "regression": RegressionTask("value", unit="mm/h"),
}

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from([*CLASSES, "twf", " TWF", "0", "1", 0, 1, 0.0, 1.0, -0.0]),
)
LABELS = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=2), max_leaves=3)


def expected_accepted(kind: str, label: Any) -> bool:
    if kind == "binary":
        return type(label) is int and label in (0, 1)
    if kind == "multiclass":
        return type(label) is str and label in CLASSES
    return type(label) in (int, float)


def decode(kind: str, label: Any) -> Any:
    body = orjson.loads(orjson.dumps({"items": [{"insight_id": INSIGHT_ID, "label": label}]}))
    return feedback_items(body, TASKS[kind])


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(list(TASKS)), label=LABELS)
def test_a_label_is_accepted_exactly_when_the_task_takes_it(kind: str, label: Any) -> None:
    sent = orjson.loads(orjson.dumps(label))  # what the app receives: JSON's own types
    if expected_accepted(kind, sent):
        [item] = decode(kind, label)
        assert item.label == sent
        assert type(item.label) is type(sent)
    else:
        with pytest.raises(InvalidInput) as refused:
            decode(kind, label)
        assert [(p.row, p.field) for p in refused.value.problems] == [(0, "label")]


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("binary", "0 (did not fail) or 1 (failed)"),
        ("multiclass", "'none', 'TWF', 'HDF', 'PWF', 'OSF'"),
        ("regression", "finite number (mm/h)"),
    ],
)
def test_a_refusal_says_what_the_task_takes(kind: str, hint: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode(kind, [])
    assert hint in refused.value.problems[0].message


def test_each_bad_item_is_named_by_its_index() -> None:
    items = [{"insight_id": INSIGHT_ID, "label": label} for label in ("TWF", 3, "OSF", "osf")]
    with pytest.raises(InvalidInput) as refused:
        feedback_items({"items": items}, TASKS["multiclass"])
    assert [(p.row, p.field) for p in refused.value.problems] == [(1, "label"), (3, "label")]
