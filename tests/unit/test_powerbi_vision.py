"""An image model's Power BI dataset: the camera tables in its definition, read back, and their rows
(edgeloop.domain.powerbi_vision): one per blob, camera, hour and model, the class mix per class."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from support.powerbi_records import multiclass_dataset
from support.vision_records import IMAGE_DATASET, RECORDS, image_record

from edgeloop.domain.powerbi_dataset import DEFINITION_BLOCK, PowerBIDataset
from edgeloop.domain.powerbi_rows import rows_for_records
from edgeloop.domain.powerbi_schema import INSIGHTS_TABLE
from edgeloop.domain.powerbi_vision import CAMERA_CLASSES_TABLE, CAMERA_HOURS_TABLE


def test_an_image_models_dataset_has_the_camera_tables_and_reads_back() -> None:
    definition = IMAGE_DATASET.definition()
    tables = {table["name"]: [c["name"] for c in table["columns"]] for table in definition["tables"]}
    assert tables[CAMERA_HOURS_TABLE][-3:] == ["frames", "defects", "anomalies"]
    assert tables[CAMERA_CLASSES_TABLE][-2:] == ["class_name", "count"]
    assert definition[DEFINITION_BLOCK]["vision"] is True
    assert PowerBIDataset.from_definition(definition) == IMAGE_DATASET
    tabular = multiclass_dataset().definition()
    assert "vision" not in tabular[DEFINITION_BLOCK]  # a model of rows: the definition as before
    assert CAMERA_HOURS_TABLE not in {table["name"] for table in tabular["tables"]}


def test_a_blobs_frames_become_one_row_per_camera_hour_and_one_per_class_seen() -> None:
    tables = rows_for_records(RECORDS, IMAGE_DATASET)
    assert len(tables[INSIGHTS_TABLE]) == 4
    hours = [
        (r["camera_id"], r["source"], r["hour"], r["frames"], r["defects"], r["anomalies"])
        for r in tables[CAMERA_HOURS_TABLE]
    ]
    assert hours == [
        (None, "upload", "2025-03-01T12:00:00.000000Z", 1, 1, 1),
        ("line-1", "camera", "2025-03-01T12:00:00.000000Z", 2, 1, 1),
        ("line-1", "camera", "2025-03-01T13:00:00.000000Z", 1, 0, 0),
    ]
    classes = [
        (r["camera_id"], r["hour"][11:13], r["class_name"], r["count"]) for r in tables[CAMERA_CLASSES_TABLE]
    ]
    assert classes == [(None, "12", "dark", 1), ("line-1", "12", "bright", 1), ("line-1", "12", "dark", 1),
                       ("line-1", "13", "bright", 1)]  # fmt: skip
    assert {r["model_name"] for r in tables[CAMERA_HOURS_TABLE]} == {"tiny-vision"}


def test_row_ids_are_the_same_for_the_same_insights_and_differ_for_others() -> None:
    def ids(records: list[dict[str, Any]]) -> list[str]:
        tables = rows_for_records(records, IMAGE_DATASET)
        return [
            row["row_id"] for table in (CAMERA_HOURS_TABLE, CAMERA_CLASSES_TABLE) for row in tables[table]
        ]

    first = ids(RECORDS)
    assert ids(RECORDS) == first
    assert len(set(first)) == len(first)
    other = ids([*RECORDS[:3], image_record(5, None, True)])
    assert other[1:3] == first[1:3]  # line-1's rows: the same insights
    assert other[0] != first[0]


def test_tabular_insights_and_a_model_of_rows_add_no_camera_rows() -> None:
    tabular = {**RECORDS[0], "context": {"product_id": "hmac-sha256:ab"}}
    assert rows_for_records([tabular], IMAGE_DATASET)[CAMERA_HOURS_TABLE] == []
    rows_dataset = replace(IMAGE_DATASET, vision=False)
    assert CAMERA_HOURS_TABLE not in rows_for_records(RECORDS, rows_dataset)
