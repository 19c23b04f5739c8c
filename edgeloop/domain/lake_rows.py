"""Rows of the lake table ``insights``: one per compliant insight, flat, for Spark, pandas, DuckDB.

Partitioned by ``site_id`` and ``date`` (the UTC day it was scored), the same split as the
compliant blobs, so a query for one site and a few days reads only those folders. Inputs,
outputs and context differ per model and per policy, so they are JSON text columns (Spark's
``from_json``, DuckDB's ``->>``, pandas' ``json.loads`` read them); the model's risk
output (``failure_probability``) and the anomaly flag get their own columns, as reports
filter on them. ``insight_id`` is the merge key: redelivery never adds a row twice.
Feedback records are not in this table (the global store joins them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from edgeloop.domain.records import InsightRecord, record_from_wire

LAKE_TABLE = "insights"
LAKE_KEY = "insight_id"
LAKE_PARTITIONS = ("site_id", "date")
RISK_OUTPUT = "failure_probability"

# Column -> type, in order: the adapter's schema (Arrow names) and the docs follow this.
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
}


def lake_row(record: InsightRecord) -> dict[str, Any]:
    scored_at = record.scored_at
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
    }


def lake_rows(wire_records: Sequence[Any]) -> list[dict[str, Any]]:
    """The insights among ``wire_records`` as rows (a bad record raises RecordError, naming it)."""
    rows: dict[str, dict[str, Any]] = {}
    for wire in wire_records:
        record = record_from_wire(wire)
        if isinstance(record, InsightRecord):
            rows[record.insight_id] = lake_row(record)  # a repeated id in one blob: the last wins
    return list(rows.values())
