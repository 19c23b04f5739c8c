"""Column documents stand for exactly the wire records of their rows, and always fit a message."""

from __future__ import annotations

import os
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeloop.domain.records import RecordError, record_from_wire
from edgeloop.wire.insight_columns import (
    COLUMNS_KIND,
    InsightColumns,
    expand_columns,
    expand_items,
    insight_id_of,
)
from edgeloop.wire.insight_wire import number_texts
from edgeloop.wire.packing import MAX_ITEM_BYTES, pack_items, unpack_message

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_KINDS = st.sampled_from([(), ("high_risk",), ("high_risk", "out_of_distribution"), ("invalid_output",)])
_CONTEXT = st.dictionaries(st.sampled_from(["product_id", "operator", "notes"]), _TEXT, max_size=3)
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
MODEL = {"name": "demo", "version": "3", "sha256": "ab" * 32}


@st.composite
def column_batches(draw: st.DrawFn) -> InsightColumns:
    n = draw(st.integers(min_value=0, max_value=12))
    names = draw(st.lists(_TEXT.filter(lambda name: name != "type"), max_size=4, unique=True))
    categories = draw(st.lists(_TEXT, min_size=1, max_size=3))
    inputs: dict[str, list[Any]] = {
        "type": draw(st.lists(st.sampled_from(categories), min_size=n, max_size=n))
    }
    inputs |= {name: draw(st.lists(_FLOATS, min_size=n, max_size=n)) for name in names}
    return InsightColumns(
        site_id=draw(_TEXT),
        scored_at="2026-11-21T10:00:00.123456Z",
        model=MODEL,
        batch_id=draw(st.sampled_from(["a" * 32, "0123456789abcdef" * 2])),
        first=draw(st.integers(min_value=0, max_value=5000)),
        inputs=inputs,
        outputs={"risk %s": number_texts(draw(st.lists(_FLOATS, min_size=n, max_size=n)))},
        anomaly=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        anomaly_kinds=draw(st.lists(_KINDS, min_size=n, max_size=n)),
        context=draw(st.lists(_CONTEXT, min_size=n, max_size=n)),
    )


def records_of(columns: InsightColumns) -> list[dict[str, Any]]:
    """The wire records, one dict per row, built the obvious way (the oracle)."""
    return [
        {
            "kind": "insight",
            "schema_version": 1,
            "site_id": columns.site_id,
            "scored_at": columns.scored_at,
            "model": dict(columns.model),
            "insight_id": f"{columns.batch_id}-{columns.first + row:05d}",
            "inputs": {name: values[row] for name, values in columns.inputs.items()},
            "outputs": {name: orjson.loads(texts[row]) for name, texts in columns.outputs.items()},
            "anomaly": columns.anomaly[row],
            "anomaly_kinds": list(columns.anomaly_kinds[row]),
            "context": dict(columns.context[row]),
        }
        for row in range(columns.count)
    ]


@settings(max_examples=200, deadline=None)
@given(columns=column_batches())
def test_a_document_expands_to_exactly_the_records_of_its_rows(columns: InsightColumns) -> None:
    document = orjson.loads(columns.document())
    assert document["kind"] == COLUMNS_KIND
    assert expand_columns(document) == records_of(columns)


@settings(max_examples=50, deadline=None)
@given(columns=column_batches(), max_bytes=st.integers(min_value=1500, max_value=4000))
def test_documents_split_by_size_keep_every_row_once_in_order(
    columns: InsightColumns, max_bytes: int
) -> None:
    documents = columns.documents(max_bytes)
    assert all(len(document) <= max_bytes for document, _ in documents)
    assert sum(rows for _, rows in documents) == columns.count
    expanded = expand_items([orjson.loads(document) for document, _ in documents])
    assert expanded == records_of(columns)


def test_the_expanded_records_are_valid_insights() -> None:
    columns = InsightColumns(
        "site-1",
        "2026-11-21T10:00:00.000001Z",
        MODEL,
        "f" * 32,
        7,
        {"type": ["L", "H"], "torque_nm": [40.0, 41.5]},
        {"failure_probability": [b"0.25", b"0.75"]},
        [False, True],
        [(), ("high_risk",)],
        [{}, {"operator": "ana"}],
    )
    records = [record_from_wire(raw) for raw in expand_columns(orjson.loads(columns.document())) or []]
    assert [record.to_wire()["insight_id"] for record in records] == [
        insight_id_of("f" * 32, i) for i in (7, 8)
    ]
    assert [record.to_wire()["context"] for record in records] == [{}, {"operator": "ana"}]


def test_a_large_batch_becomes_several_documents_that_each_fit_a_message() -> None:
    n = 3000
    columns = InsightColumns(
        "site-1",
        "2026-11-21T10:00:00Z",
        MODEL,
        "b" * 32,
        0,
        {"x": [float(i) / 7 for i in range(n)]},
        {"p": number_texts([i / 3001 for i in range(n)])},
        [False] * n,
        [()] * n,
        # Incompressible notes on some rows: sizes are bounded raw, not by a compression guess.
        [{"notes": os.urandom(400).hex()} if i % 50 == 0 else {} for i in range(n)],
    )
    documents = columns.documents(MAX_ITEM_BYTES)
    assert len(documents) > 1
    assert all(len(document) <= MAX_ITEM_BYTES for document, _ in documents)
    bodies = pack_items([document for document, _ in documents])
    records = [record for body, _ in bodies for record in unpack_message(body)]
    assert records == records_of(columns)


def test_a_row_too_large_for_any_message_is_refused() -> None:
    columns = InsightColumns(
        "s", "t", MODEL, "c" * 32, 0, {}, {}, [False, False], [(), ()], [{"notes": "x" * 5000}, {}]
    )
    with pytest.raises(ValueError, match="more than a message holds"):
        columns.documents(4000)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("count"),
        lambda d: d.update(count=d["count"] + 1),
        lambda d: d.update(first=-1),
        lambda d: d.update(batch_id=7),
        lambda d: d["inputs"]["x"].pop(),
        lambda d: d.update(outputs=[1.0]),
        lambda d: d.update(anomaly="no"),
    ],
)
def test_a_malformed_document_is_passed_on_as_is_and_then_rejected_as_a_record(damage: Any) -> None:
    columns = InsightColumns(
        "s",
        "t",
        MODEL,
        "d" * 32,
        0,
        {"x": [1.0, 2.0]},
        {"p": [b"0.1", b"0.2"]},
        [False] * 2,
        [()] * 2,
        [{}] * 2,
    )
    document = orjson.loads(columns.document())
    damage(document)
    assert expand_columns(document) is None
    (passed,) = expand_items([document])
    assert passed is document
    with pytest.raises(RecordError):
        record_from_wire(passed)  # quarantined downstream, never silently dropped


def test_version_1_bodies_of_records_are_still_read() -> None:
    import gzip

    record = {"kind": "feedback", "feedback_id": "x"}
    body = gzip.compress(orjson.dumps({"format": "edgeloop.pack", "version": 1, "records": [record]}))
    assert unpack_message(body) == [record]


def test_row_numbers_are_five_digits_and_refuse_what_would_need_more() -> None:
    from edgeloop.wire.row_numbers import insight_ids_of, row_number_bytes, row_numbers

    assert row_numbers(99_998, 2) == ["99998", "99999"]
    assert row_number_bytes(7, 3) == [b"00007", b"00008", b"00009"]
    assert insight_ids_of("ab", 41, 2) == ["ab-00041", "ab-00042"]
    assert insight_ids_of("ab", 41, 2) == [insight_id_of("ab", 41), insight_id_of("ab", 42)]
    with pytest.raises(ValueError, match="five digits"):
        row_numbers(99_999, 2)
    with pytest.raises(ValueError, match="five digits"):
        row_number_bytes(-1, 1)
