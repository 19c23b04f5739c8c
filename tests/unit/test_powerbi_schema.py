"""The common columns of the push dataset, its limits and the push chunks (edgeloop.domain.powerbi_schema)."""

from __future__ import annotations

import dataclasses

import pytest
from support.powerbi_records import binary_dataset

from edgeloop.domain import powerbi_schema
from edgeloop.domain.powerbi_schema import (
    FEEDBACK_COLUMNS,
    INSIGHT_COLUMNS,
    SchemaError,
    Table,
    check_limits,
    chunk_bounds,
)


def test_common_columns_follow_the_record_schema_without_the_task_fields() -> None:
    assert {c.name: c.data_type for c in INSIGHT_COLUMNS} == {
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
    assert {c.name: c.data_type for c in FEEDBACK_COLUMNS} == {
        "feedback_id": "String",
        "insight_id": "String",
        "site_id": "String",
        "recorded_at": "DateTime",
        "schema_version": "Int64",
    }
    assert powerbi_schema.VALUE_SOURCES == ["inputs", "outputs", "context"]


def test_a_new_record_field_of_an_unsupported_type_fails_generation() -> None:
    @dataclasses.dataclass
    class Grown:
        insight_id: str
        scores: list[float]

    with pytest.raises(SchemaError, match=r"Grown\.scores"):
        powerbi_schema._scalar_columns(Grown)


def test_more_than_75_columns_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    wide = tuple(powerbi_schema.Column(f"c{i}", "String", (f"c{i}",)) for i in range(76))
    with pytest.raises(SchemaError, match="76 columns"):
        check_limits([Table("Insights", wide)])
    monkeypatch.setattr("edgeloop.domain.powerbi_dataset.INSIGHT_COLUMNS", wide[:75])
    with pytest.raises(SchemaError, match="76 columns"):  # 75 common ones and the risk score
        binary_dataset().definition()


def test_more_than_75_tables_is_refused() -> None:
    with pytest.raises(SchemaError, match="76 tables"):
        check_limits([Table(f"t{i}", ()) for i in range(76)])


def test_chunks_cover_the_rows_from_the_resume_point_in_10000s() -> None:
    assert chunk_bounds(25_000, 0, 10_000) == [(0, 10_000), (10_000, 20_000), (20_000, 25_000)]
    assert chunk_bounds(25_000, 20_000, 10_000) == [(20_000, 25_000)]
    assert chunk_bounds(0, 0, 10_000) == []
    with pytest.raises(ValueError, match="chunk size"):
        chunk_bounds(10, 0, 10_001)
