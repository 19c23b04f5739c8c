"""Reading request bodies: the batcher's row-count bound, and the envelope both APIs check."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeloop.domain.problems import InvalidInput
from edgeloop.domain.tasks import BinaryTask
from scoring_app.decoding.envelope import row_count_bound, rows_of
from scoring_app.decoding.feedback_body import feedback_items

_context = st.dictionaries(st.sampled_from(["product_id", "notes"]), st.text(max_size=8), max_size=2)
_row = st.fixed_dictionaries({"torque_nm": st.floats(0, 100)}, optional={"ctx": _context})
_rows = st.lists(_row, max_size=100)  # bodies on both sides of the numpy threshold


@given(_rows)
def test_a_body_bound_is_never_below_its_rows(rows: list[dict[str, object]]) -> None:
    body = orjson.dumps({"rows": rows})
    bound = row_count_bound(body)
    assert bound >= len(rows)
    assert bound == body.count(b"{")


def test_rows_already_parsed_are_counted_as_they_are() -> None:
    assert row_count_bound([{"a": 1}, {"a": 2}]) == 2
    assert row_count_bound(b"") == 0


def test_small_and_large_bodies_are_counted_alike() -> None:
    for rows in (1, 30, 1000):
        body = orjson.dumps({"rows": [{"torque_nm": 40.0, "notes": "{x}"}] * rows})
        assert row_count_bound(body) == body.count(b"{") == 2 * rows + 1


def test_both_apis_refuse_a_body_that_is_not_their_envelope_alike() -> None:
    cases = [
        (lambda body: rows_of(body, 10), "rows"),
        (lambda body: feedback_items(body, BinaryTask("risk", 0.5), 10), "items"),
    ]
    for read, name in cases:
        with pytest.raises(InvalidInput) as not_an_object:
            read([1])
        assert [(p.row, p.field, p.message) for p in not_an_object.value.problems] == [
            (None, None, f'body must be a JSON object {{"{name}": [...]}}')
        ]
        with pytest.raises(InvalidInput) as extra:
            read({name: [], "colour": "red"})
        assert [(p.row, p.field, p.message) for p in extra.value.problems] == [
            (None, "colour", f"is not a known field (expected {name})")
        ]
