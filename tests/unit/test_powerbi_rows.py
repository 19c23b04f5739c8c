"""The rows wire records become in one model's push dataset, per task (edgeloop.domain.powerbi_rows)."""

from __future__ import annotations

from typing import Any

import pytest
from support.powerbi_records import (
    binary_dataset,
    feedback,
    insight,
    multiclass_dataset,
    multiclass_insight,
    regression_dataset,
    regression_insight,
)

from edgeloop.domain.powerbi_dataset import PowerBIDataset
from edgeloop.domain.powerbi_rows import rows_for_records
from edgeloop.domain.powerbi_schema import FEEDBACK_TABLE, INSIGHTS_TABLE, MAX_STRING_CHARS, VALUES_TABLE
from edgeloop.domain.records import RecordError

RISK = "failure_probability"
ID = "00000000000000000000000000000007-00007"


def test_a_binary_insight_is_one_row_with_its_risk_plus_one_value_row_per_mapping_entry() -> None:
    tables = rows_for_records([insight(7), feedback(7, 1)], binary_dataset())
    assert tables[INSIGHTS_TABLE] == [
        {
            "insight_id": ID,
            "site_id": "site-a",
            "scored_at": "2025-03-01T12:30:00.000000Z",
            "model_name": "model",
            "model_version": "3",
            "model_sha256": "ab" * 32,
            "anomaly": False,
            "anomaly_kinds": "",
            "schema_version": 1,
            "risk_score": 0.93,
        }
    ]
    values = {(r["source"], r["name"]): (r["number_value"], r["text_value"]) for r in tables[VALUES_TABLE]}
    assert values == {
        ("inputs", "torque_nm"): (42.0, None),
        ("inputs", "type"): (None, "M"),
        ("outputs", "failure_probability"): (0.93, None),
        ("outputs", "ood_score"): (1.5, None),
        ("context", "product_id"): (None, "hmac-sha256:abcd"),
    }
    assert {r["insight_id"] for r in tables[VALUES_TABLE]} == {ID}
    (row,) = tables[FEEDBACK_TABLE]
    assert (row["label"], row["recorded_at"], row["insight_id"]) == (1, "2025-03-01T13:00:00.000000Z", ID)


def test_a_multiclass_insight_carries_its_class_and_that_class_probability() -> None:
    tables = rows_for_records(
        [multiclass_insight(1, "HDF"), multiclass_insight(2, None), feedback(1, "TWF")], multiclass_dataset()
    )
    cells = [(r["predicted_class"], r["predicted_probability"]) for r in tables[INSIGHTS_TABLE]]
    assert cells == [("HDF", 0.8), (None, None)]  # None: the model's output was not finite
    assert [r["label_class"] for r in tables[FEEDBACK_TABLE]] == ["TWF"]
    assert "label" not in tables[FEEDBACK_TABLE][0]


def test_a_regression_insight_carries_its_value_and_interval() -> None:
    tables = rows_for_records([regression_insight(1, 0.8), feedback(1, 0.75)], regression_dataset())
    (row,) = tables[INSIGHTS_TABLE]
    assert (row["predicted_value"], row["predicted_lower"], row["predicted_upper"]) == (0.8, 0.6, 1.1)
    assert [r["label_value"] for r in tables[FEEDBACK_TABLE]] == [0.75]
    without = rows_for_records(
        [regression_insight(1, 2.0), feedback(1, 3)], regression_dataset(interval=False)
    )
    assert "predicted_lower" not in without[INSIGHTS_TABLE][0]
    assert without[INSIGHTS_TABLE][0]["predicted_value"] == 2.0
    assert without[FEEDBACK_TABLE][0]["label_value"] == 3.0  # an integer reading, as a Double


def test_fields_the_policy_dropped_become_nulls() -> None:
    binary = insight(1)
    del binary["model"]["sha256"], binary["context"], binary["outputs"]
    multiclass = multiclass_insight(2)
    del multiclass["outputs"]
    label_dropped = feedback(3, "HDF")
    del label_dropped["label"]
    (row,) = rows_for_records([binary], binary_dataset())[INSIGHTS_TABLE]
    assert (row["model_sha256"], row["risk_score"], row["model_name"]) == (None, None, "model")
    tables = rows_for_records([multiclass, label_dropped], multiclass_dataset())
    assert tables[INSIGHTS_TABLE][0]["predicted_probability"] is None
    assert tables[INSIGHTS_TABLE][0]["predicted_class"] == "HDF"
    assert tables[FEEDBACK_TABLE][0]["label_class"] is None
    assert all(r["source"] == "inputs" or r["source"] == "context" for r in tables[VALUES_TABLE])


def test_long_strings_are_cut_to_4000_characters() -> None:
    record = insight(1) | {"site_id": "s" * 5000, "inputs": {"note": "x" * 4001}}
    tables = rows_for_records([record], binary_dataset())
    assert len(tables[INSIGHTS_TABLE][0]["site_id"]) == MAX_STRING_CHARS
    assert len(tables[VALUES_TABLE][0]["text_value"]) == MAX_STRING_CHARS


def with_model(record: dict[str, Any], **model: Any) -> dict[str, Any]:
    return record | {"model": record["model"] | model}


@pytest.mark.parametrize(
    ("dataset", "record", "field"),
    [
        (binary_dataset(), insight(1) | {"anomaly": "yes"}, "record[1].anomaly"),
        (binary_dataset(), insight(1) | {"scored_at": "yesterday"}, "record[1].scored_at"),
        (binary_dataset(), insight(1) | {"inputs": {"torque": [1, 2]}}, "record[1].inputs.torque"),
        (binary_dataset(), insight(1) | {"kind": "telemetry"}, "record[1].kind"),
        (binary_dataset(), insight(1) | {"schema_version": 99}, "record[1].schema_version"),
        (binary_dataset(), "not an object", "record[1].record"),
        (binary_dataset(), insight(1, outputs={"failure_probability": True}), f"record[1].outputs.{RISK}"),
        (binary_dataset(), insight(1) | {"prediction": "HDF"}, "record[1].prediction"),
        (binary_dataset(), feedback(1, True), "record[1].label"),
        (binary_dataset(), feedback(1, 2), "record[1].label"),
        (binary_dataset(), feedback(1, "HDF"), "record[1].label"),
        (binary_dataset(), multiclass_insight(1), "record[1].model.task"),
        (multiclass_dataset(), insight(1), "record[1].model.task"),
        (multiclass_dataset(), multiclass_insight(1) | {"prediction": "XYZ"}, "record[1].prediction"),
        (multiclass_dataset(), feedback(1, "XYZ"), "record[1].label"),
        (multiclass_dataset(), feedback(1, 1), "record[1].label"),
        (regression_dataset(), regression_insight(1) | {"prediction": "high"}, "record[1].prediction"),
        (regression_dataset(), with_model(regression_insight(1), task="ranking"), "record[1].model.task"),
        (regression_dataset(), feedback(1, "HDF"), "record[1].label"),
        (regression_dataset(), feedback(1, False), "record[1].label"),
    ],
)  # fmt: skip
def test_a_bad_record_names_its_index_and_field(dataset: PowerBIDataset, record: Any, field: str) -> None:
    first = {"binary": insight(0), "multiclass": multiclass_insight(0), "regression": regression_insight(0)}
    with pytest.raises(RecordError) as caught:
        rows_for_records([first[dataset.task.kind], record], dataset)
    assert caught.value.field == field


def test_an_insight_of_another_task_names_the_dataset_model_and_the_fix() -> None:
    with pytest.raises(
        RecordError, match=r"'multiclass', but the dataset is for ai4i-failure, a binary model"
    ):
        rows_for_records([multiclass_insight(1)], binary_dataset())
