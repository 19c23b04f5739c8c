"""The SQLite global store's per-model rollups (``edgeloop.domain.model_rollup``), kept in the
ingest's transaction, and their reads:

* ``model_hourly_counts``, keyed (hour, model): a range's counts per model, and ``model_hours``;
* ``model_site_counts``, keyed (model, site), all time: the models table without a range and
  every site's all-time figures (``site_totals``, ``site_stats``). With a range (the models
  table's sites; the versions in ``site_stats`` of every site, whose sums then come from the
  per-site hourly rollup), the (model, site) pairs whose span of hours (``first_hour``,
  ``last_hour``) meets it are each asked of the counters whether they scored in one of its
  hours (the counters' key is site first: a point look-up each; a retired version's pairs,
  outside the range, cost none).

A file written before them is upgraded on open, in ``create_tables``'s transaction: both are
summed from the hourly counters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from edgeloop.adapters.sqlite_fleet_tables import SITE_SUMS
from edgeloop.domain.counter_stats import SiteStats
from edgeloop.domain.insights_view import CounterKey, Counts, model_label
from edgeloop.domain.model_rollup import (
    model_hour_delta,
    model_site_delta,
    model_site_hours,
    model_stats_of,
    site_stats_of,
)
from edgeloop.domain.model_stats import ModelHour, ModelKey, ModelStats, model_hours
from edgeloop.domain.site_rollup import site_totals_of

_COUNTS = (
    "scored, anomalies, feedback, feedback_correct, feedback_judged, error_count, error_sum, feedback_missed"
)
_DECLARED = """scored INTEGER NOT NULL, anomalies INTEGER NOT NULL, feedback INTEGER NOT NULL,
    feedback_correct INTEGER NOT NULL, feedback_judged INTEGER NOT NULL,
    error_count INTEGER NOT NULL, error_sum REAL NOT NULL, feedback_missed INTEGER NOT NULL"""
_MODEL = "model_name, model_version, task"
_MODEL_DECLARED = "model_name TEXT NOT NULL, model_version TEXT NOT NULL, task TEXT NOT NULL"
_SUMS = ", ".join(f"SUM({column})" for column in _COUNTS.split(", "))
_ADDED = ", ".join(f"{column} = {column} + excluded.{column}" for column in _COUNTS.split(", "))

_TABLES = {
    "model_hourly_counts": (
        f"""CREATE TABLE model_hourly_counts (hour TEXT NOT NULL, {_MODEL_DECLARED}, {_DECLARED},
            PRIMARY KEY (hour, {_MODEL})) WITHOUT ROWID""",
        f"""INSERT INTO model_hourly_counts (hour, {_MODEL}, {_COUNTS})
            SELECT hour, {_MODEL}, {_SUMS} FROM hourly_counts GROUP BY hour, {_MODEL}""",
    ),
    "model_site_counts": (
        f"""CREATE TABLE model_site_counts ({_MODEL_DECLARED}, site_id TEXT NOT NULL, {_DECLARED},
            first_hour TEXT NOT NULL, last_hour TEXT NOT NULL,
            PRIMARY KEY ({_MODEL}, site_id)) WITHOUT ROWID""",
        f"""INSERT INTO model_site_counts ({_MODEL}, site_id, {_COUNTS}, first_hour, last_hour)
            SELECT {_MODEL}, site_id, {_SUMS}, MIN(hour), MAX(hour) FROM hourly_counts
            GROUP BY {_MODEL}, site_id""",
    ),
}
_COLUMNS = {
    "model_hourly_counts": ["hour", *_MODEL.split(", "), *_COUNTS.split(", ")],
    "model_site_counts": [*_MODEL.split(", "), "site_id", *_COUNTS.split(", "), "first_hour", "last_hour"],
}
_ADD_HOUR = f"""INSERT INTO model_hourly_counts (hour, {_MODEL}, {_COUNTS}) VALUES ({", ".join("?" * 12)})
    ON CONFLICT (hour, {_MODEL}) DO UPDATE SET {_ADDED}"""
_ADD_SITE = f"""INSERT INTO model_site_counts ({_MODEL}, site_id, {_COUNTS}, first_hour, last_hour)
    VALUES ({", ".join("?" * 14)}) ON CONFLICT ({_MODEL}, site_id) DO UPDATE SET {_ADDED},
    first_hour = MIN(first_hour, excluded.first_hour), last_hour = MAX(last_hour, excluded.last_hour)"""
_ALL_TIME_MODELS = f"SELECT {_MODEL}, {_SUMS} FROM model_site_counts GROUP BY {_MODEL}"
_ALL_TIME_SITES = f"SELECT site_id, {_SUMS} FROM model_site_counts GROUP BY site_id"
_SCORED = f"SELECT {_MODEL}, site_id FROM model_site_counts WHERE scored > 0"
_HOURS = f"SELECT hour, {_MODEL}, {_COUNTS} FROM model_hourly_counts WHERE hour >= ? AND hour < ?"
_RANGE_TOTALS = (
    f"SELECT {_MODEL}, {_SUMS} FROM model_hourly_counts WHERE hour >= ? AND hour < ? GROUP BY {_MODEL}"
)
_RANGE_SITES = f"""SELECT {_MODEL}, site_id FROM model_site_counts AS m
    WHERE m.scored > 0 AND m.last_hour >= ? AND m.first_hour < ? AND EXISTS (
    SELECT 1 FROM hourly_counts AS c WHERE c.site_id = m.site_id AND c.hour >= ? AND c.hour < ?
    AND c.model_name = m.model_name AND c.model_version = m.model_version AND c.task = m.task
    AND c.scored > 0)"""


def create_model_tables(conn: sqlite3.Connection) -> None:
    """Create what is missing, summed from the counters; within ``create_tables``'s transaction,
    after the counters are in place (in a new file there is nothing to sum). A rollup of another
    shape (a column added since) is summed again: it holds nothing the counters do not."""
    for table, (create, fill) in _TABLES.items():
        columns = [str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")]
        if columns and columns != _COLUMNS[table]:
            conn.execute(f"DROP TABLE {table}")
        if columns != _COLUMNS[table]:
            conn.execute(create)
            conn.execute(fill)


def drop_model_tables(conn: sqlite3.Connection) -> None:
    """For a recount of the counters: the rollups are summed again from the new ones."""
    for table in _TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def add_model_counts(conn: sqlite3.Connection, delta: Mapping[CounterKey, Counts]) -> None:
    """Move both rollups by the counters' ``delta``, in the caller's transaction."""
    hours = model_hour_delta(delta)
    conn.executemany(
        _ADD_HOUR, [(hour, *_model_row(model), *_counts_row(c)) for (model, hour), c in hours.items()]
    )
    sites, spans = model_site_delta(delta), model_site_hours(delta)
    rows = [
        (*_model_row(model), site, *_counts_row(sites.get((model, site), Counts())), *span)
        for (model, site), span in spans.items()
    ]
    conn.executemany(_ADD_SITE, rows)


def model_stats_in(conn: sqlite3.Connection, first: str | None, last: str | None) -> list[ModelStats]:
    """Per-model totals over the hour buckets [first, last); None, None: all time."""
    if first is None and last is None:
        totals, sites = conn.execute(_ALL_TIME_MODELS), conn.execute(_SCORED)
    else:
        bounds = (first or "", last or "~")
        totals, sites = conn.execute(_RANGE_TOTALS, bounds), conn.execute(_RANGE_SITES, bounds * 2)
    models = _Models()
    return model_stats_of(
        [(models.of(row), Counts(*row[3:])) for row in totals], [(models.of(row), row[3]) for row in sites]
    )


def all_time_site_totals_in(conn: sqlite3.Connection) -> list[SiteStats]:
    return site_totals_of((site, Counts(*sums)) for site, *sums in conn.execute(_ALL_TIME_SITES))


def every_site_stats_in(conn: sqlite3.Connection, first: str | None, last: str | None) -> list[SiteStats]:
    """``site_stats`` of every site over the hour buckets [first, last): each site's sums (all
    time: of its (model, site) rows; over a range: of the per-site hourly rollup's), and the
    versions it scored with (the (model, site) rows that scored, in the range when given)."""
    if first is None and last is None:
        sums, scored = conn.execute(_ALL_TIME_SITES), conn.execute(_SCORED)
    else:
        bounds = (first or "", last or "~")
        sums, scored = conn.execute(SITE_SUMS, bounds), conn.execute(_RANGE_SITES, bounds * 2)
    labels = [(site, model_label(name, version)) for name, version, _, site in scored]
    return site_stats_of(((site, Counts(*counts)) for site, *counts in sums), labels)


def model_hours_in(conn: sqlite3.Connection, first: str | None, last: str | None) -> list[ModelHour]:
    rows = conn.execute(_HOURS, (first or "", last or "~"))
    return model_hours(
        (CounterKey("", hour, name, version, task), Counts(*counts))
        for hour, name, version, task, *counts in rows
    )


class _Models:
    """One ``ModelKey`` per model, however many rows name it."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str, str], ModelKey] = {}

    def of(self, row: tuple[Any, ...]) -> ModelKey:
        name, version, task = row[:3]
        known = self._keys.get((name, version, task))
        if known is None:
            known = self._keys[name, version, task] = ModelKey(name, version, task)
        return known


def _model_row(model: ModelKey) -> tuple[str, str, str]:
    return model.name, model.version, model.task


def _counts_row(counts: Counts) -> tuple[object, ...]:
    return (
        counts.scored, counts.anomalies, counts.feedback, counts.feedback_correct,
        counts.feedback_judged, counts.error_count, counts.error_sum, counts.feedback_missed,
    )  # fmt: skip
