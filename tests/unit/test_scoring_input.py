"""row_count_bound: the batcher's bound on a request's rows, read without decoding the body."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from edgeloop.service_layer.scoring_input import row_count_bound

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
