"""The rows wire records become in one model's Power BI push dataset (edgeloop.domain.powerbi_dataset).

Per insight: one ``Insights`` row (the common columns, then the task's prediction cells)
and one ``InsightValues`` row per entry of its ``inputs``, ``outputs`` and ``context``;
per feedback: one ``Feedback`` row with the task's typed label. Records arrive *after*
the compliance policy, which may drop any field, so a missing value becomes ``null``
instead of an error; a value of the wrong type, or an insight of another task than the
dataset's, is an error naming the field. Strings are cut to Power BI's 4,000 characters.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from edgeloop.domain.powerbi_dataset import PowerBIDataset
from edgeloop.domain.powerbi_schema import (
    FEEDBACK_COLUMNS,
    FEEDBACK_TABLE,
    INSIGHT_COLUMNS,
    INSIGHTS_TABLE,
    VALUE_SOURCES,
    VALUES_TABLE,
    Column,
    Row,
    id_columns,
    truncate,
)
from edgeloop.domain.powerbi_vision import camera_hour_rows
from edgeloop.domain.records import (
    FEEDBACK_KIND,
    INSIGHT_KIND,
    SHADOW_INSIGHT_KIND,
    SITE_STATUS_KIND,
    SUPPORTED_SCHEMA_VERSIONS,
    RecordError,
    format_timestamp,
    parse_timestamp,
)


def _value_at(record: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _cell(column: Column, value: Any) -> Any:
    """``value`` as ``column`` takes it; raises RecordError naming the field."""
    field_name = ".".join(column.path)
    if value is None:
        return None
    if column.joined:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise RecordError(field_name, "must be a list of strings")
        return truncate(",".join(value))
    kind = column.data_type
    if kind == "Boolean" and isinstance(value, bool):
        return value
    if isinstance(value, bool):
        raise RecordError(field_name, f"expected {kind}, got a boolean")
    if kind == "Int64" and isinstance(value, int):
        return value
    if kind == "Double" and isinstance(value, int | float):
        return float(value)
    if kind == "String" and isinstance(value, str):
        return truncate(value)
    if kind == "DateTime" and isinstance(value, str):
        return format_timestamp(parse_timestamp(value, field_name))
    raise RecordError(field_name, f"expected {kind}, got {type(value).__name__}")


def _row(columns: Sequence[Column], record: Mapping[str, Any]) -> Row:
    return {c.name: _cell(c, _value_at(record, c.path)) for c in columns}


def _value_rows(record: Mapping[str, Any], ids: Row) -> list[Row]:
    rows: list[Row] = []
    for source in VALUE_SOURCES:
        values = record.get(source)
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise RecordError(source, "must be an object")
        for name, value in values.items():
            row = {
                **ids,
                "source": source,
                "name": truncate(str(name)),
                "number_value": None,
                "text_value": None,
            }
            if isinstance(value, int | float) and not isinstance(value, bool):
                row["number_value"] = float(value)
            elif isinstance(value, str):
                row["text_value"] = truncate(value)
            elif value is not None:
                raise RecordError(f"{source}.{name}", "must be a number or a string")
            rows.append(row)
    return rows


def _check_task(record: Mapping[str, Any], dataset: PowerBIDataset) -> None:
    """An insight of another task than the dataset's would fill no column (or the wrong ones)."""
    model = record.get("model")
    if not isinstance(model, Mapping):
        return  # dropped by the policy: nothing tells the task
    task = model.get("task", "binary")  # absent: binary (records.py)
    if task != dataset.task.kind:
        raise RecordError(
            "model.task",
            f"{str(task)[:40]!r}, but the dataset is for {dataset.model_name}, a {dataset.task.kind} "
            "model: generate the definition from this model's manifest",
        )


def _insight_rows(record: Mapping[str, Any], dataset: PowerBIDataset) -> tuple[Row, list[Row]]:
    _check_task(record, dataset)
    row = {**_row(INSIGHT_COLUMNS, record), **dataset.task.insight_cells(record)}
    ids = {c.name: row[c.name] for c in id_columns()}
    return row, _value_rows(record, ids)


def rows_for_records(records: Sequence[Mapping[str, Any]], dataset: PowerBIDataset) -> dict[str, list[Row]]:
    """Rows per table for wire records, in record order; raises RecordError(field) on bad input.

    A bad record fails the whole batch (``record[<index>].<field>``) so nothing of it is pushed.
    An image model's dataset also gets the blob's camera-hour rows (edgeloop.domain.powerbi_vision).
    """
    tables: dict[str, list[Row]] = {INSIGHTS_TABLE: [], VALUES_TABLE: [], FEEDBACK_TABLE: []}
    for index, record in enumerate(records):
        try:
            if not isinstance(record, Mapping):
                raise RecordError("record", "must be a JSON object")
            version = record.get("schema_version")
            if version is not None and (
                isinstance(version, bool) or version not in SUPPORTED_SCHEMA_VERSIONS
            ):
                raise RecordError("schema_version", f"unsupported schema version {version!r}")
            kind = record.get("kind")
            if kind == INSIGHT_KIND:
                row, values = _insight_rows(record, dataset)
                tables[INSIGHTS_TABLE].append(row)
                tables[VALUES_TABLE].extend(values)
            elif kind == FEEDBACK_KIND:
                label = dataset.task.label_cells(record)
                tables[FEEDBACK_TABLE].append({**_row(FEEDBACK_COLUMNS, record), **label})
            elif kind not in (SITE_STATUS_KIND, SHADOW_INSIGHT_KIND):  # heartbeats, shadows: no rows
                raise RecordError("kind", f"unknown record kind {kind!r}")
        except RecordError as exc:
            raise RecordError(f"record[{index}].{exc.field}", exc.message) from None
    if dataset.vision:
        tables |= camera_hour_rows([record for record in records if record.get("kind") == INSIGHT_KIND])
    return tables
