"""The on-site outbox in SQLite: records wait here, durable, until the queue has them.

One row per request batch (its records newline-joined, in a table of their
own) keeps a 1,000-record append to one small transaction. The file is shared by
every scoring worker and relay on the site, threads and processes alike: WAL lets readers run beside the
single writer, ``busy_timeout`` queues writers, and every write is one short
``BEGIN IMMEDIATE`` transaction (the write lock up front, so a read-then-write
such as the capacity check can never deadlock or race another process).

A relay leases batches (``claim``) for a while, sends them, then ``mark_sent``;
a relay that dies holding a lease only delays its batches until the lease runs out.
Acknowledged batches stay for ``retention`` (for ``recent`` and ``has_record``).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import orjson

from edgeloop.adapters.sqlite_connections import ThreadConnections
from edgeloop.adapters.sqlite_outbox_tables import (
    SCHEMA,
    add_to_counter,
    counter,
    move_payloads_out,
    prune_acknowledged,
)
from edgeloop.ports import ClaimedBatch, OutboxFull
from edgeloop.wire.insight_columns import expand_items
from edgeloop.wire.packing import MAX_ITEM_BYTES

RECORD_KINDS = frozenset({"insight", "feedback"})
# An item this small fits a packed queue message even if gzip cannot shrink it,
# so no accepted item can ever jam the relay.
MAX_RECORD_BYTES = MAX_ITEM_BYTES
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
_PRAGMAS = (
    f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}",
    f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}",
)


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
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        self._synchronous = synchronous
        self._clock = clock  # wall clock: leases and retention are compared across processes
        self._owner = uuid.uuid4().hex  # whose leases these are, across processes
        self._last_checkpoint = -_CHECKPOINT_INTERVAL
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(self._path, busy_timeout=busy_timeout, pragmas=_PRAGMAS)
        conn = self._conn()
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self._path}: SQLite refused WAL mode (got {mode!r}); use a local disk")
        conn.executescript(SCHEMA)
        move_payloads_out(conn)

    # -- connections ---------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    def _write(self, *, accepting: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction. ``accepting``: it accepts records, so it is durable as configured.

        The relay's bookkeeping (leases, acknowledgements) skips the fsync: losing it in a power
        cut only means a resend, and the next accepting commit's fsync covers it anyway.
        """
        return self._connections.transaction(synchronous=self._synchronous if accepting else "NORMAL")

    @property
    def synchronous(self) -> Synchronous:
        """How far a returned ``append`` is durable (see ``Synchronous``)."""
        return self._synchronous

    def close(self) -> None:
        self._connections.close()

    # -- Outbox (the scoring side) ---------------------------------------------------------

    def append(
        self, batch_id: str, kind: str, items: Sequence[bytes], record_count: int | None = None
    ) -> None:
        if kind not in RECORD_KINDS:
            raise ValueError(f"kind: must be one of {sorted(RECORD_KINDS)}, got {kind!r}")
        if not batch_id:
            raise ValueError("batch_id: must not be empty")
        if not items:
            return
        count = len(items) if record_count is None else record_count
        if count < len(items):
            raise ValueError(f"record_count: {count} is less than the {len(items)} items")
        # ``in`` finds a byte with memchr; counting the joined payload's newlines took ~8x as long.
        if any(b"\n" in item for item in items):
            raise ValueError("items: an item contains a newline (items are single-line JSON)")
        payload = b"\n".join(items)
        if min(map(len, items)) == 0:
            raise ValueError("items: an item is empty")
        longest = max(map(len, items))
        if longest > MAX_RECORD_BYTES:
            raise ValueError(f"items: an item of {longest} bytes exceeds {MAX_RECORD_BYTES}")
        with self._write(accepting=True) as conn:
            pending = counter(conn, "pending")
            if pending + count > self._capacity:
                raise OutboxFull(pending, self._capacity, count)
            try:
                cursor = conn.execute(
                    "INSERT INTO batches (batch_id, kind, record_count, created_at) VALUES (?, ?, ?, ?)",
                    (batch_id, kind, count, self._clock()),
                )
            except sqlite3.IntegrityError:
                raise DuplicateBatch(f"batch_id: {batch_id!r} is already in the outbox") from None
            conn.execute("INSERT INTO payloads (seq, payload) VALUES (?, ?)", (cursor.lastrowid, payload))
            add_to_counter(conn, "pending", count)

    def depth(self) -> int:
        return counter(self._conn(), "pending")

    def capacity(self) -> int:
        return self._capacity

    def retained(self) -> int:
        """Acknowledged records still kept for ``recent``/``has_record``."""
        return counter(self._conn(), "retained")

    def has_record(self, batch_id: str, index: int) -> bool:
        row = (
            self._conn()
            .execute("SELECT record_count FROM batches WHERE batch_id = ?", (batch_id,))
            .fetchone()
        )
        return row is not None and 0 <= index < int(row[0])

    def recent(self, kind: str, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        if limit <= 0:
            return found
        payloads: list[bytes] = []
        cursor = self._conn().execute(
            "SELECT payload, record_count FROM batches JOIN payloads USING (seq) WHERE kind = ?"
            " ORDER BY seq DESC",
            (kind,),
        )
        try:
            records = 0
            while records < limit:
                row = cursor.fetchone()
                if row is None:
                    break
                payloads.append(bytes(row[0]))
                records += int(row[1])
        finally:
            cursor.close()  # ends the read snapshot at once
        # Decoded after the read: the snapshot is not held while JSON is parsed.
        for payload in payloads:
            items = [orjson.loads(line) for line in payload.split(b"\n")]
            found.extend(reversed(expand_items(items)))
            if len(found) >= limit:
                break
        return found[:limit]

    # -- OutboxReader (the relay side) -------------------------------------------------------

    def claim(self, limit: int, lease_seconds: float) -> list[ClaimedBatch]:
        now = self._clock()
        leases: list[tuple[float, str, int]] = []
        counts: dict[int, int] = {}
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
                counts[seq] = int(count)
                total += count
                if total >= limit:
                    break
            cursor.close()
            conn.executemany("UPDATE batches SET lease_until = ?, lease_owner = ? WHERE seq = ?", leases)
        claimed: list[ClaimedBatch] = []
        conn = self._conn()
        for _, _, seq in leases:
            row = conn.execute(
                "SELECT batch_id, kind, payload FROM batches JOIN payloads USING (seq) WHERE seq = ?", (seq,)
            ).fetchone()
            if row is not None:  # None: another relay sent it meanwhile and retention dropped it
                items = tuple(bytes(row[2]).split(b"\n"))
                claimed.append(ClaimedBatch(row[0], row[1], items, counts[seq]))
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
            add_to_counter(conn, "pending", -acknowledged)
            add_to_counter(conn, "retained", acknowledged)
            prune_acknowledged(conn, self._retention, now)
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
            return prune_acknowledged(conn, self._retention, self._clock())
