"""The on-site outbox in SQLite: records wait here, durable, until the queue has them.

One row per request batch (its records newline-joined) keeps a 1,000-record
append to one small transaction. The file is shared by every scoring worker and
relay on the site, threads and processes alike: WAL lets readers run beside the
single writer, ``busy_timeout`` queues writers, and every write is one short
``BEGIN IMMEDIATE`` transaction (the write lock up front, so a read-then-write
such as the capacity check can never deadlock or race another process).

A relay leases batches (``claim``) for a while, sends them, then ``mark_sent``;
a relay that dies holding a lease only delays its batches until the lease runs out.
Acknowledged batches stay for ``retention`` (for ``recent`` and ``has_record``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Literal

from edgeloop.domain.packing import MAX_PACKED_BYTES
from edgeloop.ports import ClaimedBatch, OutboxFull

RECORD_KINDS = frozenset({"insight", "feedback"})
# A record this small fits a packed queue message even if gzip cannot shrink it,
# so no accepted record can ever jam the relay.
MAX_RECORD_BYTES = MAX_PACKED_BYTES - 1024
DEFAULT_RETENTION = timedelta(days=7)
# How far a returned append() is durable (SQLite's ``synchronous`` in WAL mode):
# - "FULL" (default) fsyncs the WAL at every commit: an accepted batch survives kill -9 and a
#   power cut or OS crash. Costs one fsync per append (about 0.5 ms on an idle SSD, much
#   more on a busy disk), which is why callers group concurrent requests into one append.
# - "NORMAL" survives kill -9 too (the WAL write reaches the OS before the commit returns)
#   but a power cut may roll back the last commits; for sites with a UPS that need speed.
Synchronous = Literal["FULL", "NORMAL"]
DEFAULT_BUSY_TIMEOUT = 10.0
# The relay checkpoints after each acknowledgement, off the request path; this is the backstop.
_AUTOCHECKPOINT_PAGES = 4096
_WAL_SIZE_LIMIT = 64 * 1024 * 1024
_CHECKPOINT_INTERVAL = 1.0

_SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- commit order, never reused: "newest" stays true
    batch_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    record_count INTEGER NOT NULL,
    created_at REAL NOT NULL,
    sent_at REAL,                           -- NULL until the queue acknowledged every record
    lease_until REAL NOT NULL DEFAULT 0,    -- a relay is sending it until then (unix time)
    lease_owner TEXT,
    -- The records, newline-joined. Last on purpose: reading a column stored after a large
    -- blob means walking the blob's overflow pages.
    payload BLOB NOT NULL
);
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


class DuplicateBatch(ValueError):
    """A batch id that is already in the outbox (batch ids are unique per request)."""


class SqliteOutbox:
    """Implements the ``Outbox`` and ``OutboxReader`` ports on one SQLite file.

    ``retention``: a ``timedelta`` keeps acknowledged batches that long; an ``int``
    keeps the newest acknowledged batches holding about that many records.
    """

    def __init__(
        self,
        path: Path,
        capacity: int,
        retention: timedelta | int = DEFAULT_RETENTION,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        clock: Callable[[], float] = time.time,
        synchronous: Synchronous = "FULL",
    ) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        if isinstance(retention, timedelta) and retention < timedelta(0):
            raise ValueError("retention must not be negative")
        if isinstance(retention, int) and retention < 0:
            raise ValueError("retention must not be negative")
        self._path = Path(path)
        self._capacity = capacity
        self._retention = retention
        self._busy_timeout = busy_timeout
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        self._synchronous = synchronous
        self._clock = clock  # wall clock: leases and retention are compared across processes
        self._owner = uuid.uuid4().hex  # whose leases these are, across processes
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._last_checkpoint = -_CHECKPOINT_INTERVAL
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self._path}: SQLite refused WAL mode (got {mode!r}); use a local disk")
        conn.executescript(_SCHEMA)

    # -- connections ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
        return conn

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (a connection is never shared by two threads at once)."""
        if self._pid != os.getpid():
            # A forked child must not touch its parent's SQLite handles: start afresh.
            self._local = threading.local()
            self._connections = []
            self._pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._local.synchronous = ""
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self, *, accepting: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction. ``accepting``: it accepts records, so it is durable as configured.

        The relay's bookkeeping (leases, acknowledgements) skips the fsync: losing it in a power
        cut only means a resend, and the next accepting commit's fsync covers it anyway.
        """
        conn = self._conn()
        synchronous = self._synchronous if accepting else "NORMAL"
        if self._local.synchronous != synchronous:
            conn.execute(f"PRAGMA synchronous={synchronous}")
            self._local.synchronous = synchronous
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    # -- Outbox (the scoring side) ---------------------------------------------------------

    def append(self, batch_id: str, kind: str, records: Sequence[bytes]) -> None:
        if kind not in RECORD_KINDS:
            raise ValueError(f"kind: must be one of {sorted(RECORD_KINDS)}, got {kind!r}")
        if not batch_id:
            raise ValueError("batch_id: must not be empty")
        if not records:
            return
        payload = b"\n".join(records)
        if payload.count(b"\n") != len(records) - 1:
            raise ValueError("records: a record contains a newline (records are single-line JSON)")
        if min(map(len, records)) == 0:
            raise ValueError("records: a record is empty")
        longest = max(map(len, records))
        if longest > MAX_RECORD_BYTES:
            raise ValueError(f"records: a record of {longest} bytes exceeds {MAX_RECORD_BYTES}")
        with self._write(accepting=True) as conn:
            pending = _counter(conn, "pending")
            if pending + len(records) > self._capacity:
                raise OutboxFull(pending, self._capacity, len(records))
            try:
                conn.execute(
                    "INSERT INTO batches (batch_id, kind, record_count, payload, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (batch_id, kind, len(records), payload, self._clock()),
                )
            except sqlite3.IntegrityError:
                raise DuplicateBatch(f"batch_id: {batch_id!r} is already in the outbox") from None
            _add(conn, "pending", len(records))

    def depth(self) -> int:
        return _counter(self._conn(), "pending")

    def capacity(self) -> int:
        return self._capacity

    def retained(self) -> int:
        """Acknowledged records still kept for ``recent``/``has_record``."""
        return _counter(self._conn(), "retained")

    def has_record(self, batch_id: str, index: int) -> bool:
        row = (
            self._conn()
            .execute("SELECT record_count FROM batches WHERE batch_id = ?", (batch_id,))
            .fetchone()
        )
        return row is not None and 0 <= index < int(row[0])

    def recent(self, kind: str, limit: int) -> list[bytes]:
        found: list[bytes] = []
        if limit <= 0:
            return found
        cursor = self._conn().execute("SELECT payload FROM batches WHERE kind = ? ORDER BY seq DESC", (kind,))
        try:
            while len(found) < limit:
                row = cursor.fetchone()
                if row is None:
                    break
                found.extend(reversed(bytes(row[0]).split(b"\n")))
        finally:
            cursor.close()  # ends the read snapshot at once
        return found[:limit]

    # -- OutboxReader (the relay side) -------------------------------------------------------

    def claim(self, limit: int, lease_seconds: float) -> list[ClaimedBatch]:
        now = self._clock()
        leases: list[tuple[float, str, int]] = []
        total = 0
        # Only the leases are written under the write lock; the payloads are read after it,
        # so a relay loading megabytes never holds up a scoring request's append.
        with self._write() as conn:
            cursor = conn.execute(
                "SELECT seq, record_count FROM batches"
                " WHERE sent_at IS NULL AND lease_until <= ? ORDER BY seq",
                (now,),
            )
            for seq, count in iter(cursor.fetchone, None):
                leases.append((now + lease_seconds, self._owner, seq))
                total += count
                if total >= limit:
                    break
            cursor.close()
            conn.executemany("UPDATE batches SET lease_until = ?, lease_owner = ? WHERE seq = ?", leases)
        claimed: list[ClaimedBatch] = []
        conn = self._conn()
        for _, _, seq in leases:
            row = conn.execute("SELECT batch_id, kind, payload FROM batches WHERE seq = ?", (seq,)).fetchone()
            if row is not None:  # None: another relay sent it meanwhile and retention dropped it
                claimed.append(ClaimedBatch(row[0], row[1], tuple(bytes(row[2]).split(b"\n"))))
        return claimed

    def mark_sent(self, batch_ids: Sequence[str]) -> None:
        now = self._clock()
        with self._write() as conn:
            acknowledged = 0
            for batch_id in batch_ids:
                row = conn.execute(
                    "SELECT record_count FROM batches WHERE batch_id = ? AND sent_at IS NULL", (batch_id,)
                ).fetchone()
                if row is None:
                    continue  # already acknowledged (another relay's lease ran out and it resent)
                conn.execute(
                    "UPDATE batches SET sent_at = ?, lease_until = 0, lease_owner = NULL WHERE batch_id = ?",
                    (now, batch_id),
                )
                acknowledged += int(row[0])
            _add(conn, "pending", -acknowledged)
            _add(conn, "retained", acknowledged)
            self._prune(conn, now)
        self._checkpoint_now_and_then()

    def _checkpoint_now_and_then(self) -> None:
        # Fold the WAL into the database on the relay's thread, so scoring requests rarely
        # pay for an automatic checkpoint; once a second is plenty.
        now = time.monotonic()
        if now - self._last_checkpoint >= _CHECKPOINT_INTERVAL:
            self._last_checkpoint = now
            self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def release(self, batch_ids: Sequence[str]) -> None:
        with self._write() as conn:
            conn.executemany(
                "UPDATE batches SET lease_until = 0, lease_owner = NULL"
                " WHERE batch_id = ? AND sent_at IS NULL AND lease_owner = ?",
                [(batch_id, self._owner) for batch_id in batch_ids],
            )

    # -- retention ---------------------------------------------------------------------------

    def prune(self) -> int:
        """Drop acknowledged batches past retention; returns the records dropped."""
        with self._write() as conn:
            return self._prune(conn, self._clock())

    def _prune(self, conn: sqlite3.Connection, now: float) -> int:
        if isinstance(self._retention, timedelta):
            cutoff = now - self._retention.total_seconds()
            (dropped,) = conn.execute(
                "SELECT COALESCE(SUM(record_count), 0) FROM batches"
                " WHERE sent_at IS NOT NULL AND sent_at < ?",
                (cutoff,),
            ).fetchone()
            conn.execute("DELETE FROM batches WHERE sent_at IS NOT NULL AND sent_at < ?", (cutoff,))
        else:
            excess = _counter(conn, "retained") - self._retention
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
            conn.executemany("DELETE FROM batches WHERE seq = ?", doomed)
        _add(conn, "retained", -int(dropped))
        return int(dropped)


def _counter(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
    return int(row[0])


def _add(conn: sqlite3.Connection, name: str, delta: int) -> None:
    if delta:
        conn.execute("UPDATE counters SET value = value + ? WHERE name = ?", (delta, name))
