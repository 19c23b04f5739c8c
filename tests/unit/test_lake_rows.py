"""Lake rows from wire records, and the ``feed_lake`` function's trigger (no storage involved)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest

from edgeloop.domain.lake_rows import FEEDBACK_LAKE, LAKE_COLUMNS, lake_rows, lake_table_rows
from edgeloop.domain.records import RecordError


def wire(insight_id: str, **changes: Any) -> dict[str, Any]:
    record = {
        "kind": "insight", "schema_version": 1, "insight_id": insight_id, "site_id": "site-a",
        "scored_at": "2026-11-30T23:59:59.500000Z",
        "model": {"name": "ai4i", "version": "2", "sha256": "ab" * 32},
        "inputs": {"torque_nm": 40.5, "type": "L"}, "outputs": {"failure_probability": 0.75},
        "anomaly": True, "anomaly_kinds": ["high_risk", "ood"], "context": {"product_id": "hmac-sha256:1"},
    }  # fmt: skip
    return record | changes


def test_one_flat_row_per_insight_with_every_column() -> None:
    (row,) = lake_rows([wire("a")])
    assert list(row) == list(LAKE_COLUMNS)
    assert row["date"] == "2026-11-30"
    assert row["scored_at"] == datetime(2026, 11, 30, 23, 59, 59, 500000, tzinfo=UTC)
    assert (row["risk"], row["anomaly_kinds"], row["model_version"]) == (0.75, "high_risk,ood", "2")
    assert row["inputs_json"] == '{"torque_nm":40.5,"type":"L"}'
    assert (row["task"], row["predicted_class"], row["predicted_value"]) == ("binary", None, None)


def test_a_multiclass_and_a_regression_insight_carry_their_task_and_prediction() -> None:
    multiclass = wire(
        "m",
        prediction="HDF",
        model={"name": "mode", "version": "1", "sha256": "0" * 64, "task": "multiclass"},
    )
    regression = wire(
        "r", prediction=3, model={"name": "wear", "version": "1", "sha256": "0" * 64, "task": "regression"}
    )
    not_finite = wire(
        "n", prediction=None, model={"name": "wear", "version": "1", "sha256": "0" * 64, "task": "regression"}
    )
    rows = lake_rows([multiclass, regression, not_finite])
    assert [(r["task"], r["predicted_class"], r["predicted_value"]) for r in rows] == [
        ("multiclass", "HDF", None),
        ("regression", None, 3.0),
        ("regression", None, None),
    ]


def feedback(feedback_id: str, label: Any) -> dict[str, Any]:
    return {
        "kind": "feedback", "schema_version": 1, "feedback_id": feedback_id, "insight_id": "a",
        "site_id": "site-a", "recorded_at": "2026-12-01T00:30:00+01:00", "label": label,
    }  # fmt: skip


def test_feedback_rows_carry_the_typed_label_on_the_day_it_was_recorded() -> None:
    insights, rows = lake_table_rows(
        [wire("a"), feedback("f1", 1), feedback("f2", "TWF"), feedback("f3", 0.42)]
    )
    assert [r["insight_id"] for r in insights] == ["a"]
    assert all(list(row) == list(FEEDBACK_LAKE.columns) for row in rows)
    assert [(r["feedback_id"], r["label_class"], r["label_value"]) for r in rows] == [
        ("f1", None, 1.0),  # a binary model's outcome
        ("f2", "TWF", None),
        ("f3", None, 0.42),
    ]
    assert {r["date"] for r in rows} == {"2026-11-30"}  # the UTC day
    assert rows[0]["recorded_at"] == datetime(2026, 11, 30, 23, 30, tzinfo=UTC)


def test_a_bad_label_names_its_field() -> None:
    with pytest.raises(RecordError, match="label"):
        lake_table_rows([feedback("f", True)])


def test_feedback_is_skipped_a_repeated_id_kept_once_and_a_missing_risk_is_null() -> None:
    feedback = {
        "kind": "feedback", "schema_version": 1, "feedback_id": "f", "insight_id": "a", "site_id": "s",
        "recorded_at": "2026-11-30T10:00:00Z", "label": 1,
    }  # fmt: skip
    rows = lake_rows([wire("a"), feedback, wire("b", outputs={"score": 1.0}), wire("a")])
    assert [(r["insight_id"], r["risk"]) for r in rows] == [("a", 0.75), ("b", None)]


def test_a_bad_record_names_its_field() -> None:
    bad = wire("a")
    del bad["outputs"]
    with pytest.raises(RecordError, match="outputs"):
        lake_rows([bad])


def test_the_cloud_role_serves_feed_lake_on_the_lake_subscription() -> None:
    from functions import cloud_lake
    from functions.registry import blueprint_modules

    assert "functions.cloud_lake" in blueprint_modules("cloud")
    app = func.FunctionApp()
    app.register_functions(cloud_lake.bp)
    (function,) = [f for f in app.get_functions() if f.get_function_name() == "feed_lake"]
    (trigger,) = [b.get_dict_repr() for b in function.get_bindings()]
    assert (trigger["type"], trigger["topicName"], trigger["subscriptionName"]) == (
        "serviceBusTrigger", "insights", "lake",
    )  # fmt: skip
