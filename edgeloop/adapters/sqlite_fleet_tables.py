"""The SQLite global store's tables for the fleet view, and their upgrade from older files.

* ``site_status_latest``: each site's latest status with its fleet fields as columns (the fleet
  view reads them without parsing a document; ``doc`` keeps the whole record);
* ``site_hourly_counts``: the per-site hourly rollup (``edgeloop.domain.site_rollup``), keyed
  (hour, site) so the fleet's window is one range of the key, summed per site.

A file written before either is upgraded on open, in ``create_tables``'s transaction: the latest
statuses are read back from their documents into the columns (also when a column is added to
``_LATEST_COLUMNS`` later), the rollup summed from the hourly counters.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import orjson

from edgeloop.domain.insights_view import Counts
from edgeloop.domain.records import ModelRef, format_timestamp
from edgeloop.domain.site_rollup import SiteHour
from edgeloop.domain.site_status import DriftSummary, SiteStatusRecord, site_status_from_wire

# Column, declaration; site_id first (the key), doc last (the whole record).
_LATEST_COLUMNS = (
    ("site_id", "TEXT PRIMARY KEY"),
    ("reported_at", "TEXT NOT NULL"),
    ("status_id", "TEXT NOT NULL"),
    ("model_name", "TEXT NOT NULL"),
    ("model_version", "TEXT NOT NULL"),
    ("model_sha256", "TEXT NOT NULL"),
    ("model_task", "TEXT NOT NULL"),
    ("champion_version", "TEXT"),
    ("outbox_depth", "INTEGER NOT NULL"),
    ("outbox_oldest_age_s", "REAL NOT NULL"),
    ("relay_lag_s", "REAL"),
    ("last_send_at", "TEXT"),
    ("scoring_errors", "INTEGER NOT NULL"),
    ("relay_failures", "INTEGER NOT NULL"),
    ("heartbeat_failures", "INTEGER NOT NULL"),
    ("drift_status", "TEXT NOT NULL"),
    ("drift_rows", "INTEGER NOT NULL"),
    ("schema_version", "INTEGER NOT NULL"),
    ("doc", "BLOB NOT NULL"),
)
_NAMES = [name for name, _ in _LATEST_COLUMNS]
_LATEST = "CREATE TABLE site_status_latest ({}) WITHOUT ROWID".format(
    ", ".join(f"{name} {declared}" for name, declared in _LATEST_COLUMNS)
)
# An older heartbeat delivered late leaves the latest as it is.
UPSERT_LATEST_STATUS = f"""
INSERT INTO site_status_latest ({", ".join(_NAMES)}) VALUES ({", ".join("?" * len(_NAMES))})
ON CONFLICT (site_id) DO UPDATE SET {", ".join(f"{name} = excluded.{name}" for name in _NAMES[1:])}
WHERE (excluded.reported_at, excluded.status_id)
    > (site_status_latest.reported_at, site_status_latest.status_id)
"""
SELECT_FLEET_STATUSES = f"SELECT {', '.join(_NAMES[:-1])} FROM site_status_latest ORDER BY site_id"

_ROLLUP = """CREATE TABLE site_hourly_counts (
    hour TEXT NOT NULL,
    site_id TEXT NOT NULL,
    scored INTEGER NOT NULL,
    anomalies INTEGER NOT NULL,
    feedback INTEGER NOT NULL,
    feedback_correct INTEGER NOT NULL,
    feedback_judged INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    error_sum REAL NOT NULL,
    feedback_missed INTEGER NOT NULL,
    PRIMARY KEY (hour, site_id)
) WITHOUT ROWID"""
_COUNT_COLUMNS = (
    "scored, anomalies, feedback, feedback_correct, feedback_judged, error_count, error_sum, feedback_missed"
)
ADD_SITE_COUNTS = f"""
INSERT INTO site_hourly_counts (hour, site_id, {_COUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (hour, site_id) DO UPDATE SET
    scored = scored + excluded.scored, anomalies = anomalies + excluded.anomalies,
    feedback = feedback + excluded.feedback, feedback_correct = feedback_correct + excluded.feedback_correct,
    feedback_judged = feedback_judged + excluded.feedback_judged,
    error_count = error_count + excluded.error_count, error_sum = error_sum + excluded.error_sum,
    feedback_missed = feedback_missed + excluded.feedback_missed
"""
_SUMS = ", ".join(f"SUM({column})" for column in _COUNT_COLUMNS.split(", "))
SITE_SUMS = f"SELECT site_id, {_SUMS} FROM site_hourly_counts WHERE hour >= ? AND hour < ? GROUP BY site_id"
_ROLLUP_FROM_COUNTERS = f"""INSERT INTO site_hourly_counts (hour, site_id, {_COUNT_COLUMNS})
    SELECT hour, site_id, {_SUMS} FROM hourly_counts GROUP BY hour, site_id"""


def latest_row(status: SiteStatusRecord) -> tuple[object, ...]:
    """One ``UPSERT_LATEST_STATUS`` row."""
    model, drift = status.model, status.drift
    sent = None if status.last_send_at is None else format_timestamp(status.last_send_at)
    return (
        status.site_id, format_timestamp(status.reported_at), status.status_id,
        model.name, model.version, model.sha256, model.task, status.champion_version,
        status.outbox_depth, status.outbox_oldest_age_s, status.relay_lag_s, sent,
        status.scoring_errors, status.relay_failures, status.heartbeat_failures,
        drift.status, drift.window_rows, status.schema_version, orjson.dumps(status.to_wire()),
    )  # fmt: skip


def fleet_status_of(row: tuple[Any, ...]) -> SiteStatusRecord:
    """A ``SELECT_FLEET_STATUSES`` row, as ``latest_row`` wrote it from a validated record: read
    as stored (no validation again; times are UTC ISO 8601, which ``fromisoformat`` reads)."""
    (site, reported, status_id, name, version, sha256, task, champion, depth, oldest, lag, sent,
     scoring, relay, heartbeat, drift, rows, schema) = row  # fmt: skip
    return SiteStatusRecord(
        status_id=status_id,
        site_id=site,
        reported_at=datetime.fromisoformat(reported),
        model=ModelRef(name, version, sha256, task),
        champion_version=champion,
        outbox_depth=depth,
        outbox_oldest_age_s=oldest,
        relay_lag_s=lag,
        last_send_at=None if sent is None else datetime.fromisoformat(sent),
        scoring_errors=scoring,
        relay_failures=relay,
        heartbeat_failures=heartbeat,
        drift=DriftSummary(drift, rows),
        schema_version=schema,
    )


def rollup_row(slot: SiteHour, counts: Counts) -> tuple[object, ...]:
    """One ``ADD_SITE_COUNTS`` row."""
    site, hour = slot
    return (
        hour, site, counts.scored, counts.anomalies, counts.feedback, counts.feedback_correct,
        counts.feedback_judged, counts.error_count, counts.error_sum, counts.feedback_missed,
    )  # fmt: skip


def create_fleet_tables(conn: sqlite3.Connection) -> None:
    """Create or upgrade both tables; called within ``create_tables``'s transaction, after the
    hourly counters are in place."""
    latest = _columns(conn, "site_status_latest")
    if latest and not latest >= set(_NAMES):  # a file from before (some of) the columns
        docs = [doc for (doc,) in conn.execute("SELECT doc FROM site_status_latest")]
        conn.execute("DROP TABLE site_status_latest")
        conn.execute(_LATEST)
        statuses = (site_status_from_wire(orjson.loads(doc)) for doc in docs)
        conn.executemany(UPSERT_LATEST_STATUS, [latest_row(status) for status in statuses])
    elif not latest:
        conn.execute(_LATEST)
    if not _columns(conn, "site_hourly_counts"):
        conn.execute(_ROLLUP)
        conn.execute(_ROLLUP_FROM_COUNTERS)  # nothing to sum in a new file


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
