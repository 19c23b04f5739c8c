"""Rows of the lake tables ``insights`` and ``feedback``: flat, for Spark, pandas, DuckDB.

``insights``: one row per compliant insight, partitioned by ``site_id`` and ``date`` (the UTC
day it was scored), the same split as the compliant blobs, so a query for one site and a few
days reads only those folders. Inputs, outputs and context differ per model and per policy,
so they are JSON text columns (Spark's ``from_json``, DuckDB's ``->>``, pandas'
``json.loads`` read them); what reports filter on gets its own column: the model's ``task``,
its prediction (``predicted_class`` for a multiclass model, ``predicted_value`` for a
regression; ``risk``, the ``failure_probability`` output, for the binary demo) and the
anomaly flag. ``insight_id`` is the merge key: redelivery never adds a row twice.

``feedback``: one row per feedback record, partitioned by ``site_id`` and the UTC day it was
recorded, keyed by ``feedback_id``; the typed label is ``label_class`` (a class name) or
``label_value`` (a number: 0/1 for a binary model). Readers join it to ``insights`` on
``insight_id``, whose ``task`` says which. The label is not written into the insight's row:
a feedback record may be merged before its insight, and does not know the insight's day.

Columns added later (``task``, the predictions) read as null in rows written before them
(the adapter evolves an existing table's schema). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from edgeloop.domain.records import FeedbackRecord, InsightRecord, record_from_wire

RISK_OUTPUT = "failure_probability"


@dataclass(frozen=True, slots=True)
class LakeTableSpec:
    name: str  # the folder under the lake container
    columns: Mapping[str, str]  # column -> type, in order: the adapter's schema (Arrow names)
    key: str  # the merge key: a row whose key the table has is not inserted again
    partitions: tuple[str, ...] = ("site_id", "date")


LAKE_COLUMNS: dict[str, str] = {
    "insight_id": "string",
    "site_id": "string",
    "date": "string",  # YYYY-MM-DD, UTC
    "scored_at": "timestamp",  # UTC, microseconds
    "model_name": "string",
    "model_version": "string",
    "model_sha256": "string",
    "risk": "double",  # outputs.failure_probability; null when the model has no such output
    "anomaly": "boolean",
    "anomaly_kinds": "string",  # comma-separated
    "inputs_json": "string",
    "outputs_json": "string",
    "context_json": "string",
    # Added with the model tasks: null in the rows of an older table.
    "task": "string",  # binary | multiclass | regression
    "predicted_class": "string",  # multiclass; null when the output was not finite
    "predicted_value": "double",  # regression; null when the output was not finite
}
INSIGHTS_LAKE = LakeTableSpec("insights", LAKE_COLUMNS, "insight_id")
FEEDBACK_LAKE = LakeTableSpec(
    "feedback",
    {
        "feedback_id": "string",
        "insight_id": "string",
        "site_id": "string",
        "date": "string",  # YYYY-MM-DD, UTC, of recorded_at
        "recorded_at": "timestamp",
        "label_class": "string",  # a multiclass model's outcome
        "label_value": "double",  # a binary model's 0/1, a regression's number
    },
    "feedback_id",
)
# The insights table's names, as they were before the feedback table.
LAKE_TABLE = INSIGHTS_LAKE.name
LAKE_KEY = INSIGHTS_LAKE.key
LAKE_PARTITIONS = INSIGHTS_LAKE.partitions


def lake_row(record: InsightRecord) -> dict[str, Any]:
    scored_at = record.scored_at
    prediction = record.prediction
    return {
        "insight_id": record.insight_id,
        "site_id": record.site_id,
        "date": scored_at.date().isoformat(),
        "scored_at": scored_at,
        "model_name": record.model.name,
        "model_version": record.model.version,
        "model_sha256": record.model.sha256,
        "risk": record.outputs.get(RISK_OUTPUT),
        "anomaly": record.anomaly,
        "anomaly_kinds": ",".join(record.anomaly_kinds),
        "inputs_json": orjson.dumps(dict(record.inputs)).decode(),
        "outputs_json": orjson.dumps(dict(record.outputs)).decode(),
        "context_json": orjson.dumps(dict(record.context)).decode(),
        "task": record.model.task,
        "predicted_class": prediction if isinstance(prediction, str) else None,
        "predicted_value": float(prediction) if isinstance(prediction, int | float) else None,
    }


def feedback_lake_row(record: FeedbackRecord) -> dict[str, Any]:
    label = record.label
    return {
        "feedback_id": record.feedback_id,
        "insight_id": record.insight_id,
        "site_id": record.site_id,
        "date": record.recorded_at.date().isoformat(),
        "recorded_at": record.recorded_at,
        "label_class": label if isinstance(label, str) else None,
        "label_value": None if isinstance(label, str) else float(label),
    }


def lake_table_rows(wire_records: Sequence[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(insight rows, feedback rows)`` of ``wire_records`` (a bad record raises RecordError, naming it).

    A key repeated in one blob: the last record wins."""
    insights: dict[str, dict[str, Any]] = {}
    feedback: dict[str, dict[str, Any]] = {}
    for wire in wire_records:
        record = record_from_wire(wire)
        if isinstance(record, InsightRecord):
            insights[record.insight_id] = lake_row(record)
        elif isinstance(record, FeedbackRecord):  # a site's heartbeat is no lake row
            feedback[record.feedback_id] = feedback_lake_row(record)
    return list(insights.values()), list(feedback.values())


def lake_rows(wire_records: Sequence[Any]) -> list[dict[str, Any]]:
    """The insights among ``wire_records`` as rows of the ``insights`` table."""
    return lake_table_rows(wire_records)[0]
