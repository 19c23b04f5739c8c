"""The on-site outbox in SQLite: records wait here, durable, until the queue has them.

One row per entry (what one ``append`` stores; its records newline-joined, in a table
of their own) keeps a 1,000-record append to one small transaction. The file is shared by
every scoring worker and relay on the site, threads and processes alike: WAL lets readers run beside the
single writer, ``busy_timeout`` queues writers, and every write is one short
``BEGIN IMMEDIATE`` transaction (the write lock up front, so a read-then-write
such as the capacity check can never deadlock or race another process).

A relay leases entries (``claim``) for a while, sends them, then ``mark_sent``;
a relay that dies holding a lease only delays its entries until the lease runs out.
Acknowledged entries stay for ``retention`` (for ``recent``, ``has_record`` and ``entry_insights``).
SQLite's exceptions leave as the port's ``OutboxUnavailable`` / ``OutboxError``.
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

from edgeloop.adapters.sqlite_connections import ThreadConnections, raising_port_errors
from edgeloop.adapters.sqlite_outbox_tables import (
    SCHEMA,
    add_to_counter,
    counter,
    entry_insights,
    move_payloads_out,
    oldest_pending_age,
    prune_acknowledged,
    recent_records,
)
from edgeloop.domain.records import FEEDBACK_KIND, INSIGHT_KIND, SHADOW_INSIGHT_KIND, SITE_STATUS_KIND
from edgeloop.ports import ClaimedEntry, OutboxError, OutboxFull, OutboxUnavailable
from edgeloop.wire.packing import MAX_ITEM_BYTES

RECORD_KINDS = frozenset({INSIGHT_KIND, FEEDBACK_KIND, SITE_STATUS_KIND, SHADOW_INSIGHT_KIND})
# An item this small fits a packed queue message even if gzip cannot shrink it,
# so no accepted item can ever jam the relay.
MAX_RECORD_BYTES = MAX_ITEM_BYTES
DEFAULT_RETENTION = timedelta(days=7)
# How far a returned append() is durable (SQLite's ``synchronous`` in WAL mode):
# - "FULL" (default) fsyncs the WAL at every commit: an accepted entry survives kill -9 and a
#   power cut or OS crash. Costs one fsync per append, which is why callers group
#   concurrent requests into one append.
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


class DuplicateEntry(ValueError):
    """An entry id that is already in the outbox (entry ids are unique per append)."""


_port_errors = raising_port_errors(OutboxUnavailable, OutboxError)


class SqliteOutbox:
    """Implements the ``Outbox`` and ``OutboxReader`` ports on one SQLite file.

    ``retention``: a ``timedelta`` keeps acknowledged entries that long; an ``int``
    keeps the newest acknowledged entries holding about that many records.
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
        if (retention < timedelta(0)) if isinstance(retention, timedelta) else (retention < 0):
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

    @_port_errors
    def append(
        self, entry_id: str, kind: str, items: Sequence[bytes], record_count: int | None = None
    ) -> None:
        if kind not in RECORD_KINDS:
            raise ValueError(f"kind: must be one of {sorted(RECORD_KINDS)}, got {kind!r}")
        if not entry_id:
            raise ValueError("entry_id: must not be empty")
        if not items:
            return
        count = len(items) if record_count is None else record_count
        if count < len(items):
            raise ValueError(f"record_count: {count} is less than the {len(items)} items")
        # ``in`` finds a byte with memchr: faster than counting the joined payload's newlines.
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
                    (entry_id, kind, count, self._clock()),
                )
            except sqlite3.IntegrityError:
                raise DuplicateEntry(f"entry_id: {entry_id!r} is already in the outbox") from None
            conn.execute("INSERT INTO payloads (seq, payload) VALUES (?, ?)", (cursor.lastrowid, payload))
            add_to_counter(conn, "pending", count)

    @_port_errors
    def depth(self) -> int:
        return counter(self._conn(), "pending")

    def capacity(self) -> int:
        return self._capacity

    @_port_errors
    def oldest_pending_age(self) -> float:
        return oldest_pending_age(self._conn(), self._clock())

    @_port_errors
    def retained(self) -> int:
        """Acknowledged records still kept for ``recent``/``has_record``."""
        return counter(self._conn(), "retained")

    @_port_errors
    def has_record(self, entry_id: str, index: int) -> bool:
        row = (
            self._conn()
            .execute("SELECT record_count FROM batches WHERE batch_id = ?", (entry_id,))
            .fetchone()
        )
        return row is not None and 0 <= index < int(row[0])

    @_port_errors
    def recent(self, kind: str, limit: int) -> list[dict[str, Any]]:
        return recent_records(self._conn(), kind, limit)

    @_port_errors
    def entry_insights(self, entry_id: str) -> list[dict[str, Any]]:
        return entry_insights(self._conn(), entry_id)

    # -- OutboxReader (the relay side) -------------------------------------------------------

    @_port_errors
    def claim(self, limit: int, lease_seconds: float) -> list[ClaimedEntry]:
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
        claimed: list[ClaimedEntry] = []
        conn = self._conn()
        for _, _, seq in leases:
            row = conn.execute(
                "SELECT batch_id, kind, payload FROM batches JOIN payloads USING (seq) WHERE seq = ?", (seq,)
            ).fetchone()
            if row is not None:  # None: another relay sent it meanwhile and retention dropped it
                items = tuple(bytes(row[2]).split(b"\n"))
                claimed.append(ClaimedEntry(row[0], row[1], items, counts[seq]))
        return claimed

    @_port_errors
    def mark_sent(self, entry_ids: Sequence[str]) -> None:
        now = self._clock()
        with self._write() as conn:
            acknowledged = 0
            for entry_id in entry_ids:
                row = conn.execute(
                    "SELECT record_count FROM batches WHERE batch_id = ? AND sent_at IS NULL", (entry_id,)
                ).fetchone()
                if row is None:
                    continue  # already acknowledged (another relay's lease ran out and it resent)
                conn.execute(
                    "UPDATE batches SET sent_at = ?, lease_until = 0, lease_owner = NULL WHERE batch_id = ?",
                    (now, entry_id),
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

    @_port_errors
    def release(self, entry_ids: Sequence[str]) -> None:
        with self._write() as conn:
            conn.executemany(
                "UPDATE batches SET lease_until = 0, lease_owner = NULL"
                " WHERE batch_id = ? AND sent_at IS NULL AND lease_owner = ?",
                [(entry_id, self._owner) for entry_id in entry_ids],
            )

    # -- retention ---------------------------------------------------------------------------

    @_port_errors
    def prune(self) -> int:
        """Drop acknowledged entries past retention; returns the records dropped."""
        with self._write() as conn:
            return prune_acknowledged(conn, self._retention, self._clock())
