"""The push dataset definition and the rows records become (edgeloop.domain.powerbi_schema)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edgeloop.domain import powerbi_schema
from edgeloop.domain.powerbi_schema import (
    FEEDBACK_TABLE,
    INSIGHTS_TABLE,
    MAX_STRING_CHARS,
    VALUES_TABLE,
    SchemaError,
    chunk_bounds,
    dataset_definition,
    rows_for_records,
)
from edgeloop.domain.records import FeedbackRecord, InsightRecord, ModelRef, RecordError

REPO_ROOT = Path(__file__).resolve().parents[2]


def insight(**overrides: Any) -> dict[str, Any]:
    record = InsightRecord(
        insight_id="0123456789abcdef0123456789abcdef-00007",
        site_id="site-a",
        scored_at=datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        model=ModelRef("ai4i", "3", "ab" * 32),
        inputs={"torque_nm": 42, "type": "M"},
        outputs={"risk": 0.93},
        anomaly=True,
        anomaly_kinds=("risk", "ood"),
        context={"product_id": "hmac-sha256:abcd"},
    ).to_wire()
    record.update(overrides)
    return record


def feedback(**overrides: Any) -> dict[str, Any]:
    record = FeedbackRecord(
        feedback_id="fedcba9876543210fedcba9876543210-00000",
        insight_id="0123456789abcdef0123456789abcdef-00007",
        site_id="site-a",
        label=1,
        recorded_at=datetime(2025, 3, 1, 13, 0, tzinfo=UTC),
    ).to_wire()
    record.update(overrides)
    return record


def columns(table: str) -> dict[str, str]:
    tables = {t["name"]: t for t in dataset_definition()["tables"]}
    return {c["name"]: c["dataType"] for c in tables[table]["columns"]}


def test_committed_dataset_json_is_the_generators_output() -> None:
    committed = json.loads((REPO_ROOT / "powerbi" / "dataset.json").read_text(encoding="utf-8"))
    assert committed == dataset_definition(), "regenerate with: edgeloop powerbi dataset generate"


def test_columns_and_types_follow_the_record_schema() -> None:
    assert dataset_definition()["defaultMode"] == "Push"
    assert columns(INSIGHTS_TABLE) == {
        "insight_id": "String",
        "site_id": "String",
        "scored_at": "DateTime",
        "model_name": "String",
        "model_version": "String",
        "model_sha256": "String",
        "anomaly": "Boolean",
        "anomaly_kinds": "String",
        "schema_version": "Int64",
    }
    assert columns(FEEDBACK_TABLE) == {
        "feedback_id": "String",
        "insight_id": "String",
        "site_id": "String",
        "label": "Int64",
        "recorded_at": "DateTime",
        "schema_version": "Int64",
    }
    assert columns(VALUES_TABLE)["number_value"] == "Double"
    assert powerbi_schema.VALUE_SOURCES == ["inputs", "outputs", "context"]


def test_a_new_record_field_of_an_unsupported_type_fails_generation() -> None:
    @dataclasses.dataclass
    class Grown:
        insight_id: str
        scores: list[float]

    with pytest.raises(SchemaError, match=r"Grown\.scores"):
        powerbi_schema._scalar_columns(Grown)


def test_more_than_75_columns_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    wide = [powerbi_schema.Column(f"c{i}", "String", (f"c{i}",)) for i in range(76)]
    monkeypatch.setattr(powerbi_schema, "INSIGHT_COLUMNS", wide)
    with pytest.raises(SchemaError, match="76 columns"):
        dataset_definition()


def test_insight_becomes_one_row_plus_one_value_row_per_mapping_entry() -> None:
    tables = rows_for_records([insight(), feedback()])
    assert tables[INSIGHTS_TABLE] == [
        {
            "insight_id": "0123456789abcdef0123456789abcdef-00007",
            "site_id": "site-a",
            "scored_at": "2025-03-01T12:30:00.000000Z",
            "model_name": "ai4i",
            "model_version": "3",
            "model_sha256": "ab" * 32,
            "anomaly": True,
            "anomaly_kinds": "risk,ood",
            "schema_version": 1,
        }
    ]
    values = {(r["source"], r["name"]): (r["number_value"], r["text_value"]) for r in tables[VALUES_TABLE]}
    assert values == {
        ("inputs", "torque_nm"): (42.0, None),
        ("inputs", "type"): (None, "M"),
        ("outputs", "risk"): (0.93, None),
        ("context", "product_id"): (None, "hmac-sha256:abcd"),
    }
    assert {r["insight_id"] for r in tables[VALUES_TABLE]} == {"0123456789abcdef0123456789abcdef-00007"}
    assert tables[FEEDBACK_TABLE][0]["label"] == 1
    assert tables[FEEDBACK_TABLE][0]["recorded_at"] == "2025-03-01T13:00:00.000000Z"


def test_fields_the_policy_dropped_become_nulls() -> None:
    record = insight()
    del record["model"]["sha256"]
    del record["context"]
    tables = rows_for_records([record])
    assert tables[INSIGHTS_TABLE][0]["model_sha256"] is None
    assert all(r["source"] != "context" for r in tables[VALUES_TABLE])


def test_long_strings_are_cut_to_4000_characters() -> None:
    tables = rows_for_records([insight(site_id="s" * 5000, inputs={"note": "x" * 4001})])
    assert len(tables[INSIGHTS_TABLE][0]["site_id"]) == MAX_STRING_CHARS
    assert len(tables[VALUES_TABLE][0]["text_value"]) == MAX_STRING_CHARS


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (insight(anomaly="yes"), "record[1].anomaly"),
        (insight(scored_at="yesterday"), "record[1].scored_at"),
        (insight(inputs={"torque": [1, 2]}), "record[1].inputs.torque"),
        (insight(kind="telemetry"), "record[1].kind"),
        (insight(schema_version=99), "record[1].schema_version"),
        (feedback(label=True), "record[1].label"),
        ("not an object", "record[1].record"),
    ],
)
def test_a_bad_record_names_its_index_and_field(record: Any, field: str) -> None:
    with pytest.raises(RecordError) as caught:
        rows_for_records([insight(), record])
    assert caught.value.field == field


def test_chunks_cover_the_rows_from_the_resume_point_in_10000s() -> None:
    assert chunk_bounds(25_000, 0, 10_000) == [(0, 10_000), (10_000, 20_000), (20_000, 25_000)]
    assert chunk_bounds(25_000, 20_000, 10_000) == [(20_000, 25_000)]
    assert chunk_bounds(0, 0, 10_000) == []
    with pytest.raises(ValueError, match="chunk size"):
        chunk_bounds(10, 0, 10_001)
