"""Column-wise wire records and answers are byte for byte what ``orjson.dumps`` makes of the dicts."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeloop.domain.insight_wire import float_values, insight_records, repeated_values
from edgeloop.service_layer.scored_batch import ScoredBatch

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_KINDS = st.sampled_from([(), ("high_risk",), ("high_risk", "out_of_distribution"), ("invalid_output",)])
_CONTEXT = st.dictionaries(st.sampled_from(["product_id", "operator", "notes"]), _TEXT, max_size=3)


@st.composite
def batches(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=0, max_value=12))
    floats = st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n)
    names = draw(st.lists(_TEXT, min_size=1, max_size=4, unique=True))
    categories = draw(st.lists(_TEXT, min_size=1, max_size=3))
    return {
        "shared": {"kind": "insight", "schema_version": 1, "site_id": draw(_TEXT), "scored_at": "2026-05-01"},
        "ids": [f"{draw(_TEXT)}-{index:05d}" for index in range(n)],
        "numbers": {name: draw(floats) for name in names},
        "category": draw(st.lists(st.sampled_from(categories), min_size=n, max_size=n)),
        "outputs": {"risk %s": draw(floats), "ood": draw(floats)},
        "anomaly": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "kinds": draw(st.lists(_KINDS, min_size=n, max_size=n)),
        "context": draw(st.lists(_CONTEXT, min_size=n, max_size=n)),
    }


@settings(max_examples=200, deadline=None)
@given(batch=batches())
def test_records_are_the_bytes_of_the_record_dicts(batch: dict[str, Any]) -> None:
    inputs = {"type": repeated_values(batch["category"])}
    inputs |= {name: float_values(values) for name, values in batch["numbers"].items()}
    outputs = {name: float_values(values) for name, values in batch["outputs"].items()}
    got = insight_records(
        batch["shared"], batch["ids"], inputs, outputs, batch["anomaly"], batch["kinds"], batch["context"]
    )
    expected = [
        orjson.dumps(
            {
                **batch["shared"],
                "insight_id": insight_id,
                "inputs": {
                    "type": batch["category"][row],
                    **{name: values[row] for name, values in batch["numbers"].items()},
                },
                "outputs": {name: values[row] for name, values in batch["outputs"].items()},
                "anomaly": batch["anomaly"][row],
                "anomaly_kinds": batch["kinds"][row],
                "context": batch["context"][row],
            }
        )
        for row, insight_id in enumerate(batch["ids"])
    ]
    assert got == expected


def test_columns_of_the_wrong_length_are_refused() -> None:
    shared = {"kind": "insight"}
    with pytest.raises(ValueError, match="one value per row"):
        insight_records(shared, ["a-00000"], {"x": float_values([1.0, 2.0])}, {}, [False], [()], [{}])


@st.composite
def scored_batches(draw: st.DrawFn) -> ScoredBatch:
    n = draw(st.integers(min_value=0, max_value=12))
    floats = st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n)
    # Output names include ones that shadow a result field (then dict semantics decide).
    names = draw(
        st.lists(st.one_of(_TEXT, st.sampled_from(["anomaly", "insight_id"])), max_size=3, unique=True)
    )
    return ScoredBatch(
        batch_id=draw(_TEXT),
        model_name=draw(_TEXT),
        model_version=draw(_TEXT),
        insight_ids=[f"{draw(_TEXT)}-{index:05d}" for index in range(n)],
        outputs={name: draw(floats) for name in names},
        anomaly=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        anomaly_kinds=draw(st.lists(_KINDS, min_size=n, max_size=n)),
    )


@settings(max_examples=200, deadline=None)
@given(scored=scored_batches(), span=st.tuples(st.integers(0, 12), st.integers(0, 12)))
def test_the_answer_is_the_bytes_of_the_response_dict(scored: ScoredBatch, span: tuple[int, int]) -> None:
    assert scored.response_json() == orjson.dumps(scored.response())
    first, end = sorted(span)
    part = scored.rows(min(first, scored.n_rows), min(end, scored.n_rows))
    assert part.results == scored.results[first:end]
    assert part.response_json() == orjson.dumps(part.response())
