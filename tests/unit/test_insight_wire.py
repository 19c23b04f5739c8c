"""Column-wise answers are what ``orjson.dumps`` makes of the dicts: byte for byte, or value for value.

The plain reference: tests/support/answer_reference.py."""

from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from support.answer_reference import reference_answer

from edgeloop.service_layer.scored_rows import ScoredRow, ScoredRows
from edgeloop.wire.insight_wire import number_texts, output_texts, text_values

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_KINDS = st.sampled_from([(), ("high_risk",), ("high_risk", "out_of_distribution"), ("invalid_output",)])
_CONTEXT = st.dictionaries(st.sampled_from(["product_id", "operator", "notes"]), _TEXT, max_size=3)


@st.composite
def scored_rows_columns(draw: st.DrawFn) -> ScoredRows:
    n = draw(st.integers(min_value=0, max_value=12))
    floats = st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n)
    # Output names include ones that shadow a result field (then dict semantics decide).
    names = draw(
        st.lists(
            st.one_of(_TEXT, st.sampled_from(["anomaly", "insight_id", "prediction"])),
            max_size=3,
            unique=True,
        )
    )
    # A model that is not binary: each row's class name or value (null: not finite), as JSON text.
    predicted = st.one_of(st.none(), _TEXT, st.floats(allow_nan=False, allow_infinity=False))
    prediction = draw(st.none() | st.lists(predicted.map(orjson.dumps), min_size=n, max_size=n))
    return ScoredRows(
        batch_id=draw(_TEXT),
        model_name=draw(_TEXT),
        model_version=draw(_TEXT),
        first=draw(st.integers(min_value=0, max_value=99_988)),
        outputs={name: number_texts(draw(floats)) for name in names},
        anomaly=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        anomaly_kinds=draw(st.lists(_KINDS, min_size=n, max_size=n)),
        prediction=prediction,
    )


@settings(max_examples=200, deadline=None)
@given(scored=scored_rows_columns(), span=st.tuples(st.integers(0, 12), st.integers(0, 12)))
def test_the_answer_is_the_bytes_of_the_response_dict(scored: ScoredRows, span: tuple[int, int]) -> None:
    assert scored.response_json() == orjson.dumps(scored.response())
    first, end = sorted(span)
    part = scored.rows(min(first, scored.n_rows), min(end, scored.n_rows))
    assert part.results == scored.results[first:end]
    assert part.response_json() == orjson.dumps(part.response())
    assert scored.insight_ids == [
        f"{scored.batch_id}-{scored.first + index:05d}" for index in range(scored.n_rows)
    ]


def test_float32_outputs_get_their_shortest_decimal_and_read_back_exactly() -> None:
    exact32 = np.array([0.0001533031463623047, 11.653076171875, 1.0, 0.0], dtype=np.float64)
    shortest = output_texts(exact32)
    assert shortest == [b"0.00015330315", b"11.653076", b"1.0", b"0.0"]
    assert np.array_equal(np.array(text_values(shortest), dtype=np.float32), exact32.astype(np.float32))
    wide = np.array([0.1, 2.5], dtype=np.float64)  # 0.1 is no float32: a float64 model's output
    assert output_texts(wide) == [b"0.1", b"2.5"]
    invalid = np.array([np.nan, 0.5, np.inf], dtype=np.float64)
    assert output_texts(invalid) == [b"null", b"0.5", b"null"]
    assert output_texts(np.array([], dtype=np.float64)) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), max_size=20))
def test_an_answer_with_float32_outputs_reads_back_as_the_response_dict(values: list[float]) -> None:
    """float32 text may spell a number otherwise than orjson's float64 (0.0000029971188 for
    2.9971188e-6): the answer still parses to the very values of the response dict."""
    texts = output_texts(np.array(values, dtype=np.float32).astype(np.float64))
    scored = ScoredRows("b" * 32, "demo", "3", 0, {"risk": texts}, [False] * len(values), [()] * len(values))
    assert orjson.loads(scored.response_json()) == orjson.loads(orjson.dumps(scored.response()))
    risks = np.array([result["risk"] for result in scored.results], dtype=np.float32)
    assert np.array_equal(risks, np.array(values, dtype=np.float32))


@settings(max_examples=100, deadline=None)
@given(scored=scored_rows_columns())
def test_anomaly_counts_count_each_kind_over_the_rows(scored: ScoredRows) -> None:
    expected: dict[str, int] = {}
    for kinds in scored.anomaly_kinds:
        for kind in kinds:
            expected[kind] = expected.get(kind, 0) + 1
    assert scored.anomaly_counts == expected


def _at_float32(texts: list[bytes]) -> list[bytes]:
    """The same outputs as a float32 model writes them (float32's shortest decimals)."""
    with np.errstate(over="ignore"):
        narrow = np.array(text_values(texts), dtype=np.float64).astype(np.float32)
    return output_texts(narrow.astype(np.float64))


@settings(max_examples=200, deadline=None)
@given(scored=scored_rows_columns(), float32=st.booleans())
def test_the_answer_parses_to_the_plain_reference(scored: ScoredRows, float32: bool) -> None:
    """The slice-assigned answer and the one written a dict per row stand for the same value."""
    if float32:
        outputs = {name: _at_float32(texts) for name, texts in scored.outputs.items()}
        scored = ScoredRows(
            scored.batch_id,
            scored.model_name,
            scored.model_version,
            scored.first,
            outputs,
            scored.anomaly,
            scored.anomaly_kinds,
            scored.prediction,
        )
    assert orjson.loads(scored.response_json()) == orjson.loads(reference_answer(scored))


def test_a_non_binary_answer_adds_each_rows_prediction_after_its_flags() -> None:
    texts = output_texts(np.array([0.75, 0.5], dtype=np.float64))
    scored = ScoredRows(
        "d" * 32,
        "modes",
        "1",
        0,
        {"p_twf": texts},
        [True, False],
        [("alert_class",), ()],
        [b'"TWF"', b"null"],
    )
    assert scored.response_json() == orjson.dumps(scored.response())
    first, second = orjson.loads(scored.response_json())["results"]
    assert list(first) == ["insight_id", "p_twf", "anomaly", "anomaly_kinds", "prediction"]
    assert (first["prediction"], second["prediction"]) == ("TWF", None)
    assert scored.row(0).prediction == "TWF"
    assert orjson.loads(scored.rows(1, 2).response_json())["results"] == [second]


def test_a_scored_row_gives_typed_values() -> None:
    texts = output_texts(np.array([0.25, np.nan], dtype=np.float64))
    scored = ScoredRows("c" * 32, "demo", "3", 41, {"risk": texts}, [True, False], [("high_risk",), ()])
    assert scored.row(0) == ScoredRow("c" * 32 + "-00041", {"risk": 0.25}, True, ("high_risk",))
    assert scored.row(1) == ScoredRow("c" * 32 + "-00042", {"risk": None}, False, ())
