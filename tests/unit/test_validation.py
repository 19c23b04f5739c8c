"""validate_rows: every bad-input kind names the row and field; valid rows become typed columns."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.manifests import TYPICAL_ROW, demo_manifest

from edgeloop.domain.validation import (
    CONTEXT_MAX_LENGTHS,
    MAX_ERRORS,
    FeatureColumns,
    RowError,
    RowValidationError,
    validate_rows,
)

MANIFEST = demo_manifest()


def row(**changes: Any) -> dict[str, Any]:
    return {**TYPICAL_ROW, **changes}


def errors_for(rows: list[Any]) -> list[RowError]:
    with pytest.raises(RowValidationError) as caught:
        validate_rows(MANIFEST, rows)
    return caught.value.errors


def test_valid_rows_become_columns() -> None:
    rows = [row(), row(type="H", torque_nm=3.0, tool_wear_min=379.5), row(rotational_speed_rpm=1500.25)]
    columns = validate_rows(MANIFEST, rows)
    assert isinstance(columns, FeatureColumns)
    assert columns.n_rows == 3
    assert list(columns.numeric) == [
        "air_temperature_k",
        "process_temperature_k",
        "rotational_speed_rpm",
        "torque_nm",
        "tool_wear_min",
    ]
    assert columns.numeric["torque_nm"].dtype == np.float64
    assert columns.numeric["torque_nm"].tolist() == [42.8, 3.0, 42.8]
    assert columns.numeric["rotational_speed_rpm"].tolist() == [1551.0, 1551.0, 1500.25]
    assert columns.categorical["type"].dtype == object
    assert columns.categorical["type"].tolist() == ["M", "H", "M"]
    assert columns.context == [{}, {}, {}]


def test_input_dicts_follow_manifest_order() -> None:
    columns = validate_rows(MANIFEST, [row(), row(type="L", torque_nm=50)])
    dicts = columns.input_dicts()
    assert list(dicts[0]) == list(MANIFEST.feature_names)
    assert dicts[1] == {**TYPICAL_ROW, "type": "L", "torque_nm": 50.0}
    assert columns.row_inputs(1) == dicts[1]
    assert all(type(v) is float for k, v in dicts[0].items() if k != "type")


def test_context_fields_are_kept_per_row() -> None:
    rows = [row(product_id="M14860", operator="op-7"), row(), row(notes="n" * 2000, operator=None)]
    columns = validate_rows(MANIFEST, rows)
    assert columns.context == [{"product_id": "M14860", "operator": "op-7"}, {}, {"notes": "n" * 2000}]


def test_empty_request_gives_empty_columns() -> None:
    columns = validate_rows(MANIFEST, [])
    assert columns.n_rows == 0
    assert columns.input_dicts() == []


@pytest.mark.parametrize(
    ("bad_row", "field", "message"),
    [
        (row(torque_nm=120), "torque_nm", "must be between 3.0 and 77.0, got 120"),
        (row(torque_nm=2.5), "torque_nm", "must be between 3.0 and 77.0, got 2.5"),
        (row(torque_nm=True), "torque_nm", "must be a number, got a boolean"),
        (row(torque_nm="42.8"), "torque_nm", "must be a number, got a string"),
        (row(torque_nm=None), "torque_nm", "must be a number, got null"),
        (row(torque_nm=[42.8]), "torque_nm", "must be a number, got an array"),
        (row(torque_nm=float("nan")), "torque_nm", "must be a finite number, got nan"),
        (row(torque_nm=float("-inf")), "torque_nm", "must be a finite number, got -inf"),
        (
            row(torque_nm=10**400),
            "torque_nm",
            "must be a finite number, got 1000000000000000000000000000000000000...",
        ),
        (row(type="X"), "type", "must be one of L, M, H, got 'X'"),
        (row(type="m"), "type", "must be one of L, M, H, got 'm'"),
        (row(type=1), "type", "must be a string, got a number"),
        (row(type={"v": "M"}), "type", "must be a string, got an object"),
        (row(operator=7), "operator", "must be a string, got a number"),
        (row(product_id="p" * 65), "product_id", "must be at most 64 characters, got 65"),
        (row(notes="n" * 2001), "notes", "must be at most 2000 characters, got 2001"),
        (
            row(colour="red"),
            "colour",
            "is not a known field (expected the model's features, or product_id, operator, notes)",
        ),
    ],
)
def test_bad_value_names_row_and_field(bad_row: dict[str, Any], field: str, message: str) -> None:
    errors = errors_for([row(), row(), row(), bad_row])
    assert errors == [RowError(3, field, message)]
    assert str(errors[0]) == f"row 3, field {field}: {message}"


def test_missing_feature() -> None:
    incomplete = row()
    del incomplete["tool_wear_min"]
    assert errors_for([incomplete]) == [RowError(0, "tool_wear_min", "is missing")]


@pytest.mark.parametrize(
    ("value", "kind"), [(None, "null"), ([], "an array"), ("row", "a string"), (1, "a number")]
)
def test_row_that_is_not_an_object(value: Any, kind: str) -> None:
    assert errors_for([row(), value]) == [RowError(1, "row", f"must be a JSON object, got {kind}")]


def test_all_errors_reported_in_row_then_field_order() -> None:
    rows = [
        row(tool_wear_min=-1, type="Z", extra=1),
        row(),
        "nope",
        row(air_temperature_k=1000, notes=5),
    ]
    errors = errors_for(rows)
    assert [(e.row, e.field) for e in errors] == [
        (0, "type"),
        (0, "tool_wear_min"),
        (0, "extra"),
        (2, "row"),
        (3, "air_temperature_k"),
        (3, "notes"),
    ]


def test_errors_capped_with_total() -> None:
    rows = [row(torque_nm=500, tool_wear_min=-5) for _ in range(40)]
    with pytest.raises(RowValidationError) as caught:
        validate_rows(MANIFEST, rows)
    assert len(caught.value.errors) == MAX_ERRORS
    assert caught.value.total == 80
    assert caught.value.errors[0] == RowError(0, "torque_nm", "must be between 3.0 and 77.0, got 500")
    assert str(caught.value).endswith("got 500 (80 errors)")


def test_boundaries_are_inclusive() -> None:
    columns = validate_rows(MANIFEST, [row(torque_nm=3.0), row(torque_nm=77), row(tool_wear_min=0)])
    assert columns.numeric["torque_nm"].tolist() == [3.0, 77.0, 42.8]


def test_context_limits_match_records() -> None:
    from edgeloop.domain.records import ON_SITE_CONTEXT_FIELDS

    assert set(CONTEXT_MAX_LENGTHS) == set(ON_SITE_CONTEXT_FIELDS)


def test_a_thousand_rows_validate_fast() -> None:
    """Vectorised: 1,000 rows well under 20 ms even on a loaded CI machine (typically ~2 ms)."""
    import time

    rows = [row(torque_nm=float(i % 70 + 4), product_id=f"P{i}") for i in range(1000)]
    validate_rows(MANIFEST, rows)
    best = math.inf
    for _ in range(5):
        started = time.perf_counter()
        columns = validate_rows(MANIFEST, rows)
        best = min(best, time.perf_counter() - started)
    assert columns.n_rows == 1000
    assert best < 0.02


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=2), max_leaves=3)
FIELD_NAMES = st.sampled_from([*MANIFEST.feature_names, "product_id", "notes", "other"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(FIELD_NAMES, JSON_VALUES) | JSON_SCALARS, max_size=4))
def test_arbitrary_json_is_accepted_or_rejected_with_named_errors(rows: list[Any]) -> None:
    errors: list[RowError] = []
    try:
        columns = validate_rows(MANIFEST, rows)
    except RowValidationError as exc:
        errors = exc.errors
    if errors:
        assert all(0 <= e.row < len(rows) and e.field and e.message for e in errors)
        return
    assert columns.n_rows == len(rows)
    for name, values in columns.numeric.items():
        low, high = MANIFEST.input(name).min, MANIFEST.input(name).max
        assert low is not None
        assert high is not None
        assert np.all((values >= low) & (values <= high))


@given(st.integers(0, 30), st.integers(0, 10_000))
def test_generated_valid_rows_round_trip(n_rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = [
        row(type=str(rng.choice(["L", "M", "H"])), torque_nm=float(rng.uniform(3, 77)), tool_wear_min=int(i))
        for i in range(n_rows)
    ]
    columns = validate_rows(MANIFEST, rows)
    assert columns.input_dicts() == [
        {k: (v if k == "type" else float(v)) for k, v in r.items()} for r in rows
    ]
