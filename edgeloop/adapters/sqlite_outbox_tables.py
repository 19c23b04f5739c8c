"""The outbox's tables and their bookkeeping: running counters and retention.

``batches`` holds one row per outbox entry (what one append stores; ``batches`` and
``batch_id`` are the on-disk names, kept for the files already on sites), ``payloads``
its records; ``counters`` keeps the running totals (``pending``: accepted, not yet
acknowledged; ``retained``: acknowledged, still kept) in the same transactions as the
rows, so ``depth()`` is one lookup.
Every function here runs inside the caller's write transaction, but the readers of records at
the end (``recent_records``, ``entry_insights``), which decode after their read.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import orjson

from edgeloop.domain.records import INSIGHT_KIND
from edgeloop.wire.insight_columns import expand_items

SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- commit order, never reused: "newest" stays true
    batch_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    record_count INTEGER NOT NULL,
    created_at REAL NOT NULL,
    sent_at REAL,                           -- NULL until the queue acknowledged every record
    lease_until REAL NOT NULL DEFAULT 0,    -- a relay is sending it until then (unix time)
    lease_owner TEXT
);
-- The records of an entry, newline-joined, in a table of their own: leasing and acknowledging
-- update the entry's row, and SQLite rewrites a whole row (overflow pages included) to update it.
CREATE TABLE IF NOT EXISTS payloads (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL);
-- Covers the relay's scan for work (sent_at too, or SQLite reads the rows), so the scan
-- never touches the rows it skips.
CREATE INDEX IF NOT EXISTS batches_pending
    ON batches (seq, lease_until, record_count, sent_at) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS batches_sent ON batches (sent_at, seq) WHERE sent_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS batches_kind ON batches (kind, seq);
-- Running totals, kept in the same transactions as the rows: depth() is one lookup.
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO counters (name, value) VALUES ('pending', 0), ('retained', 0);
COMMIT;
"""


def move_payloads_out(conn: sqlite3.Connection) -> None:
    """An outbox written before ``payloads`` existed keeps its records in ``batches.payload``:
    move them over, in one transaction (every process opening the file tries; one does it)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(batches)")}
        if "payload" in columns:
            conn.execute("INSERT OR IGNORE INTO payloads (seq, payload) SELECT seq, payload FROM batches")
            conn.execute("ALTER TABLE batches DROP COLUMN payload")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def prune_acknowledged(conn: sqlite3.Connection, retention: timedelta | int, now: float) -> int:
    """Drop acknowledged entries past ``retention``; returns the records dropped.

    ``retention``: an age, or about that many acknowledged records kept. Unsent entries stay.
    """
    if isinstance(retention, timedelta):
        cutoff = now - retention.total_seconds()
        (dropped,) = conn.execute(
            "SELECT COALESCE(SUM(record_count), 0) FROM batches WHERE sent_at IS NOT NULL AND sent_at < ?",
            (cutoff,),
        ).fetchone()
        conn.execute(
            "DELETE FROM payloads WHERE seq IN"
            " (SELECT seq FROM batches WHERE sent_at IS NOT NULL AND sent_at < ?)",
            (cutoff,),
        )
        conn.execute("DELETE FROM batches WHERE sent_at IS NOT NULL AND sent_at < ?", (cutoff,))
    else:
        excess = counter(conn, "retained") - retention
        doomed: list[tuple[int]] = []
        dropped = 0
        if excess > 0:
            cursor = conn.execute(
                "SELECT seq, record_count FROM batches WHERE sent_at IS NOT NULL ORDER BY sent_at, seq"
            )
            for seq, count in iter(cursor.fetchone, None):
                if dropped >= excess:
                    break
                doomed.append((seq,))
                dropped += count
            cursor.close()
        conn.executemany("DELETE FROM payloads WHERE seq = ?", doomed)
        conn.executemany("DELETE FROM batches WHERE seq = ?", doomed)
    add_to_counter(conn, "retained", -int(dropped))
    return int(dropped)


def counter(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
    return int(row[0])


def add_to_counter(conn: sqlite3.Connection, name: str, delta: int) -> None:
    if delta:
        conn.execute("UPDATE counters SET value = value + ? WHERE name = ?", (delta, name))


def oldest_pending_age(conn: sqlite3.Connection, now: float) -> float:
    """Seconds the oldest unacknowledged entry has waited (0 when none waits). Entries are
    created in ``seq`` order, so the pending index's first row is the oldest: no scan."""
    row = conn.execute("SELECT created_at FROM batches WHERE sent_at IS NULL ORDER BY seq LIMIT 1").fetchone()
    return 0.0 if row is None else max(0.0, now - float(row[0]))


def decoded_records(payload: bytes) -> list[Any]:
    """An entry's records in append order, decoded (column documents expanded)."""
    return expand_items([orjson.loads(line) for line in payload.split(b"\n")])


def recent_records(conn: sqlite3.Connection, kind: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` records of ``kind``, newest first."""
    found: list[dict[str, Any]] = []
    if limit <= 0:
        return found
    payloads: list[bytes] = []
    cursor = conn.execute(
        "SELECT payload, record_count FROM batches JOIN payloads USING (seq) WHERE kind = ?"
        " ORDER BY seq DESC",
        (kind,),
    )
    try:
        records = 0
        for payload, count in iter(cursor.fetchone, None):
            payloads.append(bytes(payload))
            records += int(count)
            if records >= limit:
                break
    finally:
        cursor.close()  # ends the read snapshot at once
    # Decoded after the read: the snapshot is not held while JSON is parsed.
    for payload in payloads:
        found.extend(reversed(decoded_records(payload)))
        if len(found) >= limit:
            break
    return found[:limit]


def entry_insights(conn: sqlite3.Connection, entry_id: str) -> list[dict[str, Any]]:
    """The insight records of entry ``entry_id``, decoded; none when the outbox keeps no such entry."""
    rows = conn.execute(
        "SELECT payload FROM batches JOIN payloads USING (seq) WHERE batch_id = ? AND kind = ?",
        (entry_id, INSIGHT_KIND),
    ).fetchall()
    return [record for (payload,) in rows for record in decoded_records(bytes(payload))]
