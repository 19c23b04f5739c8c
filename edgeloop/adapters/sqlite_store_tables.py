"""The SQLite global store's tables, its write statements, and the upgrade of older files.

Counters are keyed by (site, hour, model name, version, task) and carry the feedback
measures of edgeloop.domain.feedback_quality. ``feedback.label`` has no declared type,
so SQLite keeps each label as given (an INTEGER column would turn the class name "3"
into the number 3).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import orjson

from edgeloop.adapters.sqlite_fleet_tables import create_fleet_tables
from edgeloop.adapters.sqlite_model_tables import create_model_tables, drop_model_tables
from edgeloop.domain.detection_labels import MISSED_SEPARATOR
from edgeloop.domain.insights_view import CounterKey, Counts, StoredFeedback, contribution
from edgeloop.domain.records import insight_from_wire

_INSIGHTS = (
    """CREATE TABLE IF NOT EXISTS insights (
        insight_id TEXT PRIMARY KEY,
        site_id TEXT NOT NULL,
        scored_at TEXT NOT NULL,
        anomaly INTEGER NOT NULL,
        doc BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS insights_by_time ON insights (scored_at, insight_id)",
    "CREATE INDEX IF NOT EXISTS insights_by_site_time ON insights (site_id, scored_at, insight_id)",
    "CREATE INDEX IF NOT EXISTS anomalies_by_time ON insights (scored_at, insight_id) WHERE anomaly = 1",
    """CREATE INDEX IF NOT EXISTS anomalies_by_site_time ON insights (site_id, scored_at, insight_id)
        WHERE anomaly = 1""",
)
_FEEDBACK = """CREATE TABLE IF NOT EXISTS feedback (
    insight_id TEXT PRIMARY KEY,
    feedback_id TEXT NOT NULL,
    site_id TEXT NOT NULL,
    label NOT NULL,
    recorded_at TEXT NOT NULL
)"""
_COUNTERS = (
    """CREATE TABLE IF NOT EXISTS hourly_counts (
        site_id TEXT NOT NULL,
        hour TEXT NOT NULL,
        model_name TEXT NOT NULL,
        model_version TEXT NOT NULL,
        task TEXT NOT NULL,
        scored INTEGER NOT NULL,
        anomalies INTEGER NOT NULL,
        feedback INTEGER NOT NULL,
        feedback_correct INTEGER NOT NULL,
        feedback_judged INTEGER NOT NULL,
        error_count INTEGER NOT NULL,
        error_sum REAL NOT NULL,
        feedback_missed INTEGER NOT NULL,
        PRIMARY KEY (site_id, hour, model_name, model_version, task)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS hourly_counts_by_hour ON hourly_counts (hour)",
    # Covers the fleet view's per-site sums over its window: read from the index alone.
    """CREATE INDEX IF NOT EXISTS hourly_counts_by_hour_site ON hourly_counts (hour, site_id,
        scored, anomalies, feedback, feedback_correct, feedback_judged, error_count, error_sum,
        feedback_missed)""",
)

# Site status (heartbeats): every one once (status_id); the latest per site: sqlite_fleet_tables.
_SITE_STATUS = (
    """CREATE TABLE IF NOT EXISTS site_status (
        status_id TEXT PRIMARY KEY,
        site_id TEXT NOT NULL,
        reported_at TEXT NOT NULL,
        doc BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS site_status_by_site_time ON site_status (site_id, reported_at, status_id)",
)
# Shadow insights (a shadowed challenger's outputs), newest first per site and model.
_SHADOW = (
    """CREATE TABLE IF NOT EXISTS shadow_insights (
        shadow_id TEXT PRIMARY KEY,
        insight_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        model_name TEXT NOT NULL,
        scored_at TEXT NOT NULL,
        doc BLOB NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS shadow_by_site_model_time
        ON shadow_insights (site_id, model_name, scored_at, shadow_id)""",
)
INSERT_SHADOW = "INSERT OR IGNORE INTO shadow_insights VALUES (?, ?, ?, ?, ?, ?)"
SELECT_SHADOW = (
    "SELECT s.doc, f.label FROM shadow_insights AS s LEFT JOIN feedback AS f ON f.insight_id = s.insight_id "
    "WHERE s.site_id = ? AND s.model_name = ? ORDER BY s.scored_at DESC, s.shadow_id DESC LIMIT ?"
)
INSERT_STATUS = "INSERT OR IGNORE INTO site_status (status_id, site_id, reported_at, doc) VALUES (?, ?, ?, ?)"
UPSERT_INSIGHT = """
INSERT INTO insights (insight_id, site_id, scored_at, anomaly, doc) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (insight_id) DO UPDATE SET
    site_id = excluded.site_id, scored_at = excluded.scored_at,
    anomaly = excluded.anomaly, doc = excluded.doc
"""
UPSERT_FEEDBACK = """
INSERT INTO feedback (insight_id, feedback_id, site_id, label, recorded_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (insight_id) DO UPDATE SET
    feedback_id = excluded.feedback_id, site_id = excluded.site_id,
    label = excluded.label, recorded_at = excluded.recorded_at
"""
ADD_COUNTS = """
INSERT INTO hourly_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (site_id, hour, model_name, model_version, task) DO UPDATE SET
    scored = scored + excluded.scored, anomalies = anomalies + excluded.anomalies,
    feedback = feedback + excluded.feedback, feedback_correct = feedback_correct + excluded.feedback_correct,
    feedback_judged = feedback_judged + excluded.feedback_judged,
    error_count = error_count + excluded.error_count, error_sum = error_sum + excluded.error_sum,
    feedback_missed = feedback_missed + excluded.feedback_missed
"""
KEY_COLUMNS = ("site_id", "hour", "model_name", "model_version", "task")
COUNT_SUMS = (
    "SUM(scored), SUM(anomalies), SUM(feedback), SUM(feedback_correct), "
    "SUM(feedback_judged), SUM(error_count), SUM(error_sum), SUM(feedback_missed)"
)
SELECT_JOINED = (
    "SELECT i.doc, f.feedback_id, f.label, f.recorded_at FROM insights AS i "
    "LEFT JOIN feedback AS f ON f.insight_id = i.insight_id"
)


def counter_row(key: CounterKey, counts: Counts) -> tuple[object, ...]:
    """One ``ADD_COUNTS`` row, columns in table order."""
    return (
        key.site_id, key.hour, key.model_name, key.model_version, key.task,
        counts.scored, counts.anomalies, counts.feedback, counts.feedback_correct,
        counts.feedback_judged, counts.error_count, counts.error_sum, counts.feedback_missed,
    )  # fmt: skip


def create_tables(conn: sqlite3.Connection) -> None:
    """Create what is missing, upgrading a file written before tasks (and before the fleet's
    columns and rollup: ``sqlite_fleet_tables``; before the per-model rollups:
    ``sqlite_model_tables``), in one transaction.

    Such a file typed ``feedback.label`` INTEGER and counted every model as binary: its
    feedback is copied into the untyped table, and the counters are counted again from
    the stored insights and their feedback (every process opening the file checks; one
    does it). A file from before ``feedback_missed`` (a detection label's missed boxes) is
    counted again the same way if one of its labels holds a missed box (its counters never read
    them); without any, the column is added, 0 everywhere, which is then exact (``_add_missed``).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        old_feedback = _column_type(conn, "feedback", "label") == "INTEGER"
        if old_feedback:
            conn.execute("ALTER TABLE feedback RENAME TO feedback_before_tasks")
        counted = _column_type(conn, "hourly_counts", "scored") is not None
        no_missed = counted and _column_type(conn, "hourly_counts", "feedback_missed") is None
        recount = counted and (
            _column_type(conn, "hourly_counts", "task") is None or (no_missed and _holds_missed_boxes(conn))
        )
        if no_missed and not recount:
            _add_missed(conn)
        if recount:
            conn.execute("DROP TABLE hourly_counts")
            conn.execute("DROP TABLE IF EXISTS site_hourly_counts")  # summed again from the new counters
            drop_model_tables(conn)
        for statement in (*_INSIGHTS, _FEEDBACK, *_COUNTERS, *_SITE_STATUS, *_SHADOW):
            conn.execute(statement)
        if old_feedback:
            conn.execute("INSERT INTO feedback SELECT * FROM feedback_before_tasks")
            conn.execute("DROP TABLE feedback_before_tasks")
        if recount:
            conn.executemany(ADD_COUNTS, [counter_row(k, c) for k, c in _recount(conn).items()])
        create_fleet_tables(conn)
        create_model_tables(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _holds_missed_boxes(conn: sqlite3.Connection) -> bool:
    """Whether a stored label may hold a detection's missed box (a text label with its separator)."""
    found = conn.execute(
        "SELECT 1 FROM feedback WHERE typeof(label) = 'text' AND instr(label, ?) > 0 LIMIT 1",
        (MISSED_SEPARATOR,),
    )
    return found.fetchone() is not None


def _add_missed(conn: sqlite3.Connection) -> None:
    """``feedback_missed`` added to the counters and the per-site rollup (the covering index made
    again with it; the per-model rollups, of another shape now, are summed again on their own)."""
    conn.execute("DROP INDEX IF EXISTS hourly_counts_by_hour_site")
    for table in ("hourly_counts", "site_hourly_counts"):
        if _column_type(conn, table, "scored") is not None:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN feedback_missed INTEGER NOT NULL DEFAULT 0")


def _column_type(conn: sqlite3.Connection, table: str, column: str) -> str | None:
    """The declared type of ``column`` ('' when untyped), None when there is no such column."""
    for row in conn.execute(f"PRAGMA table_info({table})"):
        if row[1] == column:
            return str(row[2]).upper()
    return None


def _recount(conn: sqlite3.Connection) -> dict[CounterKey, Counts]:
    totals: dict[CounterKey, Counts] = {}
    rows: Iterable[tuple[bytes, str | None, object, str | None]] = conn.execute(SELECT_JOINED)
    for doc, feedback_id, label, recorded_at in rows:
        feedback = None
        if feedback_id is not None and recorded_at is not None and isinstance(label, int | float | str):
            feedback = StoredFeedback.from_stored(feedback_id, label, recorded_at)
        for key, counts in contribution(insight_from_wire(orjson.loads(doc)), feedback).items():
            totals[key] = totals.get(key, Counts()) + counts
    return totals
