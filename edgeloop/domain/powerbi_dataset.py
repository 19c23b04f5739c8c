"""One model's Power BI push dataset: its definition, generated from the manifest, and read back.

The tables are the common columns (edgeloop.domain.powerbi_schema) plus the task's
(edgeloop.domain.powerbi_tasks). The definition (powerbi/dataset.json is the demo model's;
``edgeloop powerbi dataset generate --manifest``) is the body of "create push dataset"
plus an ``edgeloop`` block naming the model and what the task's cells are read from (the
risk output, each class's probability output, the interval's outputs). The feed reads the
same file back (:meth:`PowerBIDataset.from_definition`), so the rows it pushes and the
tables the dataset has come from one document; the block is no part of Power BI's API, so
``create`` and ``update`` send the rest (:func:`service_body`). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.powerbi_schema import (
    DEFAULT_DATASET_NAME,
    FEEDBACK_COLUMNS,
    FEEDBACK_TABLE,
    INSIGHT_COLUMNS,
    INSIGHTS_TABLE,
    VALUE_COLUMNS,
    VALUES_TABLE,
    DefinitionError,
    Table,
    check_limits,
)
from edgeloop.domain.powerbi_tasks import TaskColumns, task_columns, task_columns_from_dict
from edgeloop.domain.powerbi_vision import vision_tables

DEFINITION_BLOCK = "edgeloop"


@dataclass(frozen=True, slots=True)
class PowerBIDataset:
    model_name: str
    task: TaskColumns
    name: str = DEFAULT_DATASET_NAME
    vision: bool = False  # an image model's: the camera tables too (edgeloop.domain.powerbi_vision)

    @classmethod
    def for_manifest(cls, manifest: ModelManifest, name: str = DEFAULT_DATASET_NAME) -> PowerBIDataset:
        return cls(manifest.name, task_columns(manifest.task), name, manifest.image_input is not None)

    def tables(self) -> tuple[Table, ...]:
        """The three tables (five for an image model); SchemaError past the push dataset's limits."""
        tables = (
            Table(INSIGHTS_TABLE, (*INSIGHT_COLUMNS, *self.task.insight_columns())),
            Table(VALUES_TABLE, VALUE_COLUMNS),
            Table(FEEDBACK_TABLE, (*FEEDBACK_COLUMNS, *self.task.feedback_columns())),
            *(vision_tables() if self.vision else ()),
        )
        check_limits(tables)
        return tables

    def definition(self) -> dict[str, Any]:
        """The definition file's document: the create body and the ``edgeloop`` block."""
        return {
            "name": self.name,
            "defaultMode": "Push",
            "tables": [table.to_dict() for table in self.tables()],
            DEFINITION_BLOCK: {
                "model": self.model_name,
                "task": self.task.to_dict(),
                **({"vision": True} if self.vision else {}),  # absent: a model of rows (as before images)
            },
        }

    @classmethod
    def from_definition(cls, document: Any) -> PowerBIDataset:
        """A definition read back; DefinitionError naming the key if it is not one this module
        wrote, or if its tables differ from the block's (a hand-edited table would refuse rows)."""
        if not isinstance(document, Mapping):
            raise DefinitionError("definition", "must be a JSON object")
        block = document.get(DEFINITION_BLOCK)
        if not isinstance(block, Mapping):
            raise DefinitionError(DEFINITION_BLOCK, "missing: generate the definition from a manifest")
        model = block.get("model")
        if not isinstance(model, str) or not model:
            raise DefinitionError(f"{DEFINITION_BLOCK}.model", "must be the model's name")
        name = document.get("name")
        vision = block.get("vision", False)
        if not isinstance(vision, bool):
            raise DefinitionError(f"{DEFINITION_BLOCK}.vision", "must be true or false")
        dataset = cls(
            model,
            task_columns_from_dict(block.get("task"), f"{DEFINITION_BLOCK}.task"),
            name if isinstance(name, str) and name else DEFAULT_DATASET_NAME,
            vision,
        )
        if document.get("tables") != dataset.definition()["tables"]:
            raise DefinitionError("tables", "differ from the ones the model's task has: regenerate them")
        return dataset


def service_body(definition: Mapping[str, Any]) -> dict[str, Any]:
    """What Power BI's API takes of a definition: all but the ``edgeloop`` block."""
    return {key: value for key, value in definition.items() if key != DEFINITION_BLOCK}
