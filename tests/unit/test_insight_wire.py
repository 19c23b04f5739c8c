"""Column-wise wire records and answers are byte for byte what ``orjson.dumps`` makes of the dicts."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeloop.service_layer.scored_batch import ScoredBatch

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_KINDS = st.sampled_from([(), ("high_risk",), ("high_risk", "out_of_distribution"), ("invalid_output",)])
_CONTEXT = st.dictionaries(st.sampled_from(["product_id", "operator", "notes"]), _TEXT, max_size=3)


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
        first=draw(st.integers(min_value=0, max_value=99_988)),
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
    assert scored.insight_ids == [
        f"{scored.batch_id}-{scored.first + index:05d}" for index in range(scored.n_rows)
    ]


def test_float32_outputs_get_their_shortest_decimal_and_read_back_exactly() -> None:
    import numpy as np

    from edgeloop.domain.insight_wire import model_floats

    exact32 = np.array([0.0001533031463623047, 11.653076171875, 1.0, 0.0], dtype=np.float64)
    shortest = model_floats(exact32)
    assert orjson.dumps(shortest) == b"[0.00015330315,11.653076,1.0,0.0]"
    assert np.array_equal(np.array(shortest).astype(np.float32), exact32.astype(np.float32))
    wide = np.array([0.1, 2.5], dtype=np.float64)  # 0.1 is no float32: a float64 model's output
    assert model_floats(wide) == [0.1, 2.5]
    invalid = np.array([np.nan, 0.5], dtype=np.float64)
    shown = model_floats(invalid)
    assert np.isnan(shown[0])
    assert shown[1] == 0.5
