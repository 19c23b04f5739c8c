"""Insight ids parse back to what wrote them, and nothing else parses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edgeloop.domain.insight_ids import ROW_NUMBER_LIMIT, insight_id_of, new_batch_id, parse_insight_id

batch_ids = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
rows = st.integers(min_value=0, max_value=ROW_NUMBER_LIMIT - 1)


@given(batch_ids, rows)
def test_an_id_parses_back_to_its_batch_and_row(batch_id: str, row: int) -> None:
    assert parse_insight_id(insight_id_of(batch_id, row)) == (batch_id, row)


@given(batch_ids, rows, st.sampled_from(["\n", "\r\n", " ", "\t", "0", "-"]), st.booleans())
def test_anything_around_an_id_makes_it_no_id(batch_id: str, row: int, extra: str, before: bool) -> None:
    """``$`` in a Python pattern also matches before a final newline: the parser must not."""
    text = insight_id_of(batch_id, row)
    assert parse_insight_id(extra + text if before else text + extra) is None


def test_new_batch_ids_make_valid_ids() -> None:
    assert parse_insight_id(insight_id_of(new_batch_id(), 0)) is not None
