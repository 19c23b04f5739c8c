"""The DriftTriggerLedger port on SQLite: the retraining runs drift requested, per model.

One row per drift-triggered run (model, time, reason). A claim is one ``BEGIN IMMEDIATE``
transaction (look for a run since the interval began, insert if none), so of two
processes claiming together exactly one wins. Kept beside the cloud's other local state
(the Power BI delivery ledger's folder by default).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from edgeloop.domain.records import format_timestamp, parse_timestamp

_SCHEMA = """
CREATE TABLE IF NOT EXISTS drift_triggers (
    model_name TEXT NOT NULL,
    triggered_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (model_name, triggered_at)
)
"""


class SqliteDriftTriggerLedger:
    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One immediate (write-locked) transaction on a fresh connection, closed afterwards."""
        connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    def claim(self, model: str, at: datetime, since: datetime, reason: str) -> datetime | None:
        # Timestamps are fixed-width UTC text (format_timestamp): they compare as they sort.
        with self._connect() as connection:
            row = connection.execute(
                "SELECT MAX(triggered_at) FROM drift_triggers WHERE model_name = ? AND triggered_at > ?",
                (model, format_timestamp(since)),
            ).fetchone()
            if row[0] is not None:
                return parse_timestamp(str(row[0]), "triggered_at")
            connection.execute(
                "INSERT INTO drift_triggers VALUES (?, ?, ?)", (model, format_timestamp(at), reason)
            )
        return None

    def release(self, model: str, at: datetime) -> None:
        with self._connect() as connection:
            connection.execute(
                "DELETE FROM drift_triggers WHERE model_name = ? AND triggered_at = ?",
                (model, format_timestamp(at)),
            )

    def triggers(self, model: str) -> list[tuple[datetime, str]]:
        """Every drift-triggered run of ``model`` recorded, oldest first (time, reason)."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT triggered_at, reason FROM drift_triggers WHERE model_name = ? ORDER BY triggered_at",
                (model,),
            ).fetchall()
        return [(parse_timestamp(str(at), "triggered_at"), str(reason)) for at, reason in rows]
