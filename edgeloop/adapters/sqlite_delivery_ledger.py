"""The DeliveryLedger port on SQLite: which chunks of which blob reached which table.

One row per delivered chunk, keyed ``(source, table, chunk_index)``; written
only after the sink accepted the chunk (Power BI answered 200). A connection per
call keeps it safe across the Functions worker's threads; WAL lets readers run
while a chunk is marked.

Where it lives matters: the ledger protects against *redelivery* only if every
instance of the feed sees the same file. Run the Power BI feed on one instance
(its throughput is bounded by Power BI's 120 requests/min anyway) with the
ledger on that instance's persistent storage.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edgeloop.domain.records import format_timestamp, utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS delivered_chunks (
    source TEXT NOT NULL,
    table_name TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    row_start INTEGER NOT NULL,
    row_end INTEGER NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (source, table_name, chunk_index)
)
"""


class LedgerConflict(RuntimeError):
    """A chunk index already recorded with a different row range: the chunking changed under us."""


class SqliteDeliveryLedger:
    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction on a fresh connection, closed afterwards."""
        connection = sqlite3.connect(self._path, timeout=30)
        try:
            connection.execute("PRAGMA synchronous=FULL")  # a mark must survive a crash right after it
            with connection:
                yield connection
        finally:
            connection.close()

    def delivered(self, source: str, table: str) -> tuple[int, int]:
        with self._connect() as connection:
            count, rows = connection.execute(
                "SELECT COUNT(*), COALESCE(MAX(row_end), 0) FROM delivered_chunks"
                " WHERE source = ? AND table_name = ?",
                (source, table),
            ).fetchone()
        return int(count), int(rows)

    def mark_delivered(self, source: str, table: str, chunk_index: int, row_start: int, row_end: int) -> None:
        with self._connect() as connection:
            existing = connection.execute(
                "SELECT row_start, row_end FROM delivered_chunks"
                " WHERE source = ? AND table_name = ? AND chunk_index = ?",
                (source, table, chunk_index),
            ).fetchone()
            if existing is not None:
                if tuple(existing) != (row_start, row_end):
                    raise LedgerConflict(
                        f"{source} {table} chunk {chunk_index}: recorded rows {existing[0]}..{existing[1]},"
                        f" now {row_start}..{row_end}"
                    )
                return
            connection.execute(
                "INSERT INTO delivered_chunks VALUES (?, ?, ?, ?, ?, ?)",
                (source, table, chunk_index, row_start, row_end, format_timestamp(utc_now())),
            )
