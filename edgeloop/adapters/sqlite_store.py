"""The global insight store in SQLite: the local default, same semantics as Cosmos DB.

One file, WAL mode, a connection per thread. The dashboard never scans the
insights: hourly counters per (site, hour, model, task), their per-site rollup
for the fleet view and their per-model rollups for the models table
(``sqlite_model_tables``), are kept in the same transaction as every write,
from the difference between the state of each touched insight before and after
the write (``insights_view.counter_delta``), so a redelivered blob leaves them
unchanged. Tables and statements: ``sqlite_store_tables``, the fleet's
(latest status as columns, the rollup) ``sqlite_fleet_tables``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import orjson

from edgeloop.adapters.sqlite_connections import ThreadConnections
from edgeloop.adapters.sqlite_fleet_tables import (
    ADD_SITE_COUNTS,
    SELECT_FLEET_STATUSES,
    SITE_SUMS,
    UPSERT_LATEST_STATUS,
    fleet_status_of,
    latest_row,
    rollup_row,
)
from edgeloop.adapters.sqlite_model_tables import (
    add_model_counts,
    all_time_site_totals_in,
    every_site_stats_in,
    model_hours_in,
    model_stats_in,
)
from edgeloop.adapters.sqlite_store_tables import (
    ADD_COUNTS,
    COUNT_SUMS,
    INSERT_SHADOW,
    INSERT_STATUS,
    KEY_COLUMNS,
    SELECT_JOINED,
    SELECT_SHADOW,
    UPSERT_FEEDBACK,
    UPSERT_INSIGHT,
    counter_row,
    create_tables,
)
from edgeloop.adapters.sqlite_vision import add_vision, create_vision_tables, vision_rows
from edgeloop.domain.counter_stats import HourlyRate, SiteStats, hourly_rates, site_stats
from edgeloop.domain.insights_view import (
    CounterKey,
    Counts,
    IncomingRecords,
    InsightPage,
    InsightQuery,
    InsightState,
    StoredFeedback,
    StoredInsight,
    hour_range,
)
from edgeloop.domain.model_stats import ModelHour, ModelStats
from edgeloop.domain.records import InsightRecord, Label, Record, format_timestamp, insight_from_wire
from edgeloop.domain.shadow_agreement import ShadowObservation
from edgeloop.domain.shadow_records import ShadowInsightRecord, shadow_insight_from_wire
from edgeloop.domain.site_rollup import rollup_delta, site_totals_of
from edgeloop.domain.site_status import SiteStatusRecord, site_status_from_wire
from edgeloop.domain.vision_counts import VisionCounts, VisionKey, VisionRow, vision_delta, vision_state

_IN_CHUNK = 500  # below SQLite's bound-parameter limit
_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


class SqliteInsightStore:
    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(path, busy_timeout=busy_timeout_s, pragmas=_PRAGMAS)
        create_tables(self._connections.get())
        create_vision_tables(self._connections.get())

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
            vision: dict[VisionKey, VisionCounts] = {}
            feedback_rows = []
            for insight_id in ids:
                old = before.get(insight_id, (None, None))
                new_insight, new_feedback = incoming.apply(insight_id, old, delta)
                vision_delta(vision_state(old), vision_state((new_insight, new_feedback)), vision)
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
                UPSERT_INSIGHT,
                [
                    (r.insight_id, r.site_id, format_timestamp(r.scored_at), int(r.anomaly), _doc(r))
                    for r in incoming.insights.values()
                ],
            )
            conn.executemany(UPSERT_FEEDBACK, feedback_rows)
            conn.executemany(ADD_COUNTS, [counter_row(k, c) for k, c in delta.items()])
            add_vision(conn, vision)
            conn.executemany(ADD_SITE_COUNTS, [rollup_row(s, c) for s, c in rollup_delta(delta).items()])
            add_model_counts(conn, delta)

    def upsert_site_status(self, statuses: Sequence[SiteStatusRecord]) -> None:
        history = [
            (s.status_id, s.site_id, format_timestamp(s.reported_at), orjson.dumps(s.to_wire()))
            for s in statuses
        ]
        with self._connections.transaction() as conn:
            conn.executemany(INSERT_STATUS, history)
            conn.executemany(UPSERT_LATEST_STATUS, [latest_row(status) for status in statuses])

    def upsert_shadow(self, records: Sequence[ShadowInsightRecord]) -> None:
        rows = [
            (r.shadow_id, r.insight_id, r.site_id, r.model.name, format_timestamp(r.scored_at), _wire(r))
            for r in records
        ]
        with self._connections.transaction() as conn:
            conn.executemany(INSERT_SHADOW, rows)

    def shadow_observations(self, model_name: str, site_id: str, limit: int) -> list[ShadowObservation]:
        rows = self._connections.get().execute(SELECT_SHADOW, (site_id, model_name, limit)).fetchall()
        return [ShadowObservation(shadow_insight_from_wire(orjson.loads(doc)), label) for doc, label in rows]

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
                f"{SELECT_JOINED} WHERE i.insight_id = ? AND i.site_id = ?",
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
        sql = f"{SELECT_JOINED} {clause} ORDER BY i.scored_at DESC, i.insight_id DESC LIMIT ?"
        rows = self._connections.get().execute(sql, [*params, query.limit + 1]).fetchall()
        return InsightPage.of(
            tuple(_stored(row) for row in rows[: query.limit]), more=len(rows) > query.limit
        )

    def latest_site_statuses(self) -> list[SiteStatusRecord]:
        rows = self._connections.get().execute("SELECT doc FROM site_status_latest ORDER BY site_id")
        return [site_status_from_wire(orjson.loads(doc)) for (doc,) in rows]

    def latest_fleet_statuses(self) -> list[SiteStatusRecord]:
        return [fleet_status_of(row) for row in self._connections.get().execute(SELECT_FLEET_STATUSES)]

    def site_status_history(
        self, site_id: str, start: datetime | None, end: datetime | None, limit: int
    ) -> list[SiteStatusRecord]:
        sql = (
            "SELECT doc FROM site_status WHERE site_id = ? AND reported_at >= ? AND reported_at < ? "
            "ORDER BY reported_at DESC, status_id DESC LIMIT ?"
        )
        bounds = (format_timestamp(start) if start else "", format_timestamp(end) if end else "~")
        rows = self._connections.get().execute(sql, (site_id, *bounds, limit)).fetchall()
        return [site_status_from_wire(orjson.loads(doc)) for (doc,) in reversed(rows)]

    def _counter_rows(
        self, start: datetime | None, end: datetime | None, by: str, site_id: str | None = None
    ) -> list[tuple[CounterKey, Counts]]:
        """Counter rows summed in SQL ``by`` the given key columns; the others read as ''.

        ``site_id``: that site's rows only (the primary key's prefix, so no scan of other sites)."""
        first, last = hour_range(start, end)
        # A column left out of the grouping reads as '' (task: 'binary', a valid key).
        key = ", ".join(
            column if column in by else f"'{'binary' if column == 'task' else ''}' AS {column}"
            for column in KEY_COLUMNS
        )
        site = "" if site_id is None else "site_id = ? AND "
        sql = (
            f"SELECT {key}, {COUNT_SUMS} FROM hourly_counts WHERE {site}hour >= ? AND hour < ? GROUP BY {by}"
        )
        params = (first or "", last or "~") if site_id is None else (site_id, first or "", last or "~")
        rows = self._connections.get().execute(sql, params).fetchall()
        return [(CounterKey(*row[:5]), Counts(*row[5:])) for row in rows]

    def site_stats(
        self, start: datetime | None, end: datetime | None, site_id: str | None = None
    ) -> list[SiteStats]:
        if site_id is None:  # the rollups: per site and model; per site and hour
            return every_site_stats_in(self._connections.get(), *hour_range(start, end))
        by = "site_id, model_name, model_version, task"
        return site_stats(self._counter_rows(start, end, by=by, site_id=site_id))

    def site_totals(self, start: datetime | None, end: datetime | None) -> list[SiteStats]:
        # The rollup's window is one range of its key (hour, site), summed per site in SQL; all
        # time: the per-(model, site) rollup, one row per site and model, whatever the hours.
        first, last = hour_range(start, end)
        if first is None and last is None:
            return all_time_site_totals_in(self._connections.get())
        rows = self._connections.get().execute(SITE_SUMS, (first or "", last or "~"))
        return site_totals_of((site, Counts(*sums)) for site, *sums in rows)

    def hourly_rates(
        self, start: datetime | None, end: datetime | None, site_id: str | None = None
    ) -> list[HourlyRate]:
        return hourly_rates(self._counter_rows(start, end, by="site_id, hour", site_id=site_id))

    def model_stats(self, start: datetime | None, end: datetime | None) -> list[ModelStats]:
        return model_stats_in(self._connections.get(), *hour_range(start, end))

    def model_hours(self, start: datetime | None, end: datetime | None) -> list[ModelHour]:
        return model_hours_in(self._connections.get(), *hour_range(start, end))

    def vision_hours(
        self, start: datetime | None, end: datetime | None, site_id: str | None = None
    ) -> list[VisionRow]:
        first, last = hour_range(start, end)
        return vision_rows(self._connections.get(), first or "", last or "~", site_id)


def _doc(record: InsightRecord) -> bytes:
    return orjson.dumps(record.to_wire())


def _wire(record: ShadowInsightRecord) -> bytes:
    return orjson.dumps(record.to_wire())


def _stored(row: tuple[bytes, str | None, Label | None, str | None]) -> StoredInsight:
    doc, feedback_id, label, recorded_at = row
    record = insight_from_wire(orjson.loads(doc))
    if feedback_id is None or label is None or recorded_at is None:
        return StoredInsight(record)
    return StoredInsight(record, StoredFeedback.from_stored(feedback_id, label, recorded_at))
