"""A detection model's Power BI Feedback rows: the operator's verdicts (``accepted``, ``rejected``)
and the defects the model missed (``missed``), from the label "verdicts, then missed boxes"; a
definition generated before ``missed`` is refused until regenerated (docs/global-app.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.powerbi_records import feedback

from edgeloop.domain.powerbi_dataset import PowerBIDataset
from edgeloop.domain.powerbi_rows import rows_for_records
from edgeloop.domain.powerbi_schema import FEEDBACK_TABLE, DefinitionError
from edgeloop.domain.powerbi_tasks import DetectionColumns
from edgeloop.domain.records import RecordError

DATASET = PowerBIDataset("surface-detection", DetectionColumns(("scratch", "dent")), vision=True)
SCRATCH = "scratch@0.1,0.62,0.3,0.8"


def _cells(label: Any) -> dict[str, Any]:
    [row] = rows_for_records([feedback(7, label)], DATASET)[FEEDBACK_TABLE]
    return {name: row[name] for name in ("accepted", "rejected", "missed")}


@pytest.mark.parametrize(
    ("label", "counts"),
    [
        ("accept,reject,accept", (2, 1, 0)),  # verdicts only, the grammar of before
        (f"accept,reject;{SCRATCH}", (1, 1, 1)),
        (f";{SCRATCH};dent@0.5,0.5,0.7,0.9", (0, 0, 2)),  # a frame without detection, two missed
    ],
    ids=["verdicts-only", "verdicts-and-a-missed-box", "missed-boxes-only"],
)
def test_a_feedback_row_counts_the_verdicts_and_the_missed_defects(
    label: str, counts: tuple[int, ...]
) -> None:
    assert tuple(_cells(label).values()) == counts


def test_the_feedback_table_has_a_missed_column() -> None:
    [table] = [t for t in DATASET.definition()["tables"] if t["name"] == FEEDBACK_TABLE]
    assert [c for c in table["columns"] if c["name"] in ("accepted", "rejected", "missed")] == [
        {"name": name, "dataType": "Int64"} for name in ("accepted", "rejected", "missed")
    ]


def test_a_label_of_another_type_is_refused_naming_the_field() -> None:
    with pytest.raises(RecordError, match=r"record\[0\]\.label"):
        _cells(1)


def test_a_definition_from_before_the_missed_column_is_refused_until_regenerated() -> None:
    document = json.loads(json.dumps(DATASET.definition()))
    [table] = [t for t in document["tables"] if t["name"] == FEEDBACK_TABLE]
    table["columns"] = [c for c in table["columns"] if c["name"] != "missed"]
    with pytest.raises(DefinitionError, match="regenerate"):
        PowerBIDataset.from_definition(document)
    assert PowerBIDataset.from_definition(json.loads(json.dumps(DATASET.definition()))) == DATASET
