"""The global insight store in SQLite: the local default, same semantics as Cosmos DB.

One file, WAL mode, a connection per thread. The dashboard never scans the
insights: hourly counters per (site, hour, model) are kept in the same
transaction as every write, from the difference between the state of each
touched insight before and after the write (``insights_view.counter_delta``),
so a redelivered blob leaves them unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import orjson

from edgeloop.adapters.sqlite_connections import ThreadConnections
from edgeloop.domain.insights_view import (
    CounterKey,
    Counts,
    HourlyRate,
    IncomingRecords,
    InsightPage,
    InsightQuery,
    InsightState,
    SiteStats,
    StoredFeedback,
    StoredInsight,
    hour_range,
    hourly_rates,
    site_stats,
)
from edgeloop.domain.records import InsightRecord, Record, format_timestamp, insight_from_wire

_SCHEMA = """
CREATE TABLE IF NOT EXISTS insights (
    insight_id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    scored_at TEXT NOT NULL,
    anomaly INTEGER NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS insights_by_time ON insights (scored_at, insight_id);
CREATE INDEX IF NOT EXISTS insights_by_site_time ON insights (site_id, scored_at, insight_id);
CREATE INDEX IF NOT EXISTS anomalies_by_time ON insights (scored_at, insight_id) WHERE anomaly = 1;
CREATE INDEX IF NOT EXISTS anomalies_by_site_time ON insights (site_id, scored_at, insight_id)
    WHERE anomaly = 1;
CREATE TABLE IF NOT EXISTS feedback (
    insight_id TEXT PRIMARY KEY,
    feedback_id TEXT NOT NULL,
    site_id TEXT NOT NULL,
    label INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hourly_counts (
    site_id TEXT NOT NULL,
    hour TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    scored INTEGER NOT NULL,
    anomalies INTEGER NOT NULL,
    feedback INTEGER NOT NULL,
    feedback_correct INTEGER NOT NULL,
    PRIMARY KEY (site_id, hour, model_name, model_version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hourly_counts_by_hour ON hourly_counts (hour);
"""

_UPSERT_INSIGHT = """
INSERT INTO insights (insight_id, site_id, scored_at, anomaly, doc) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (insight_id) DO UPDATE SET
    site_id = excluded.site_id, scored_at = excluded.scored_at,
    anomaly = excluded.anomaly, doc = excluded.doc
"""
_UPSERT_FEEDBACK = """
INSERT INTO feedback (insight_id, feedback_id, site_id, label, recorded_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (insight_id) DO UPDATE SET
    feedback_id = excluded.feedback_id, site_id = excluded.site_id,
    label = excluded.label, recorded_at = excluded.recorded_at
"""
_ADD_COUNTS = """
INSERT INTO hourly_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (site_id, hour, model_name, model_version) DO UPDATE SET
    scored = scored + excluded.scored, anomalies = anomalies + excluded.anomalies,
    feedback = feedback + excluded.feedback, feedback_correct = feedback_correct + excluded.feedback_correct
"""
_IN_CHUNK = 500  # below SQLite's bound-parameter limit
_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


class SqliteInsightStore:
    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(path, busy_timeout=busy_timeout_s, pragmas=_PRAGMAS)
        self._connections.get().executescript(_SCHEMA)

    def close(self) -> None:
        self._connections.close()

    # -- writes ---------------------------------------------------------------

    def upsert(self, records: Sequence[Record]) -> None:
        incoming = IncomingRecords.of(records)
        ids = incoming.insight_ids
        if not ids:
            return
        with self._connections.transaction() as conn:
            before = self._states(conn, ids)
            delta: dict[CounterKey, Counts] = {}
            feedback_rows = []
            for insight_id in ids:
                old = before.get(insight_id, (None, None))
                new_insight, new_feedback = incoming.apply(insight_id, old, delta)
                if new_feedback is not None and new_feedback != old[1]:
                    site = incoming.feedback_sites.get(insight_id) or (
                        new_insight.site_id if new_insight else ""
                    )
                    feedback_rows.append(
                        (
                            insight_id,
                            new_feedback.feedback_id,
                            site,
                            new_feedback.label,
                            format_timestamp(new_feedback.recorded_at),
                        )
                    )
            conn.executemany(
                _UPSERT_INSIGHT,
                [
                    (r.insight_id, r.site_id, format_timestamp(r.scored_at), int(r.anomaly), _doc(r))
                    for r in incoming.insights.values()
                ],
            )
            conn.executemany(_UPSERT_FEEDBACK, feedback_rows)
            conn.executemany(
                _ADD_COUNTS,
                [
                    (k.site_id, k.hour, k.model_name, k.model_version, *_counts_tuple(c))
                    for k, c in delta.items()
                ],
            )

    def _states(self, conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, InsightState]:
        insights: dict[str, InsightRecord] = {}
        feedback: dict[str, StoredFeedback] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for insight_id, doc in conn.execute(
                f"SELECT insight_id, doc FROM insights WHERE insight_id IN ({marks})", chunk
            ):
                insights[insight_id] = insight_from_wire(orjson.loads(doc))
            for insight_id, feedback_id, label, recorded_at in conn.execute(
                "SELECT insight_id, feedback_id, label, recorded_at FROM feedback "
                f"WHERE insight_id IN ({marks})",
                chunk,
            ):
                feedback[insight_id] = StoredFeedback.from_stored(feedback_id, label, recorded_at)
        return {i: (insights.get(i), feedback.get(i)) for i in set(insights) | set(feedback)}

    # -- reads ----------------------------------------------------------------

    def get(self, site_id: str, insight_id: str) -> StoredInsight | None:
        row = (
            self._connections.get()
            .execute(
                f"{_SELECT_JOINED} WHERE i.insight_id = ? AND i.site_id = ?",
                (insight_id, site_id),
            )
            .fetchone()
        )
        return _stored(row) if row else None

    def query(self, query: InsightQuery) -> InsightPage:
        where: list[str] = []
        params: list[object] = []
        if query.site_id is not None:
            where.append("i.site_id = ?")
            params.append(query.site_id)
        if query.anomalies_only:
            where.append("i.anomaly = 1")  # a literal, so the partial indexes apply
        if query.start is not None:
            where.append("i.scored_at >= ?")
            params.append(format_timestamp(query.start))
        if query.end is not None:
            where.append("i.scored_at < ?")
            params.append(format_timestamp(query.end))
        if query.after is not None:
            where.append("(i.scored_at, i.insight_id) < (?, ?)")
            params += [format_timestamp(query.after.scored_at), query.after.insight_id]
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        sql = f"{_SELECT_JOINED} {clause} ORDER BY i.scored_at DESC, i.insight_id DESC LIMIT ?"
        rows = self._connections.get().execute(sql, [*params, query.limit + 1]).fetchall()
        return InsightPage.of(
            tuple(_stored(row) for row in rows[: query.limit]), more=len(rows) > query.limit
        )

    def _counter_rows(
        self, start: datetime | None, end: datetime | None, by: str
    ) -> list[tuple[CounterKey, Counts]]:
        """Counter rows summed in SQL ``by`` the given key columns; the others read as ''."""
        first, last = hour_range(start, end)
        key = ", ".join(column if column in by else f"'' AS {column}" for column in _KEY_COLUMNS)
        sql = (
            f"SELECT {key}, SUM(scored), SUM(anomalies), SUM(feedback), SUM(feedback_correct) "
            f"FROM hourly_counts WHERE hour >= ? AND hour < ? GROUP BY {by}"
        )
        rows = self._connections.get().execute(sql, (first or "", last or "~")).fetchall()
        return [(CounterKey(*row[:4]), Counts(*row[4:])) for row in rows]

    def site_stats(self, start: datetime | None, end: datetime | None) -> list[SiteStats]:
        return site_stats(self._counter_rows(start, end, by="site_id, model_name, model_version"))

    def hourly_rates(self, start: datetime | None, end: datetime | None) -> list[HourlyRate]:
        return hourly_rates(self._counter_rows(start, end, by="site_id, hour"))


_KEY_COLUMNS = ("site_id", "hour", "model_name", "model_version")
_SELECT_JOINED = (
    "SELECT i.doc, f.feedback_id, f.label, f.recorded_at FROM insights AS i "
    "LEFT JOIN feedback AS f ON f.insight_id = i.insight_id"
)


def _doc(record: InsightRecord) -> bytes:
    return orjson.dumps(record.to_wire())


def _counts_tuple(counts: Counts) -> tuple[int, int, int, int]:
    return counts.scored, counts.anomalies, counts.feedback, counts.feedback_correct


def _stored(row: tuple[bytes, str | None, int | None, str | None]) -> StoredInsight:
    doc, feedback_id, label, recorded_at = row
    record = insight_from_wire(orjson.loads(doc))
    if feedback_id is None or label is None or recorded_at is None:
        return StoredInsight(record)
    return StoredInsight(record, StoredFeedback.from_stored(feedback_id, label, recorded_at))
