"""The PointerLedger port on SQLite: the newest champion pointer a site followed, per model.

One row per model name: serial, digest of the signed bytes, expiry. It lives beside the
site's bundle cache on persistent storage, so a restarted site still refuses a pointer
older than one it followed before the restart. Wiping it (with the cache) resets that
memory, as a wiped TUF client's trusted metadata would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edgeloop.domain.records import format_timestamp, parse_timestamp, utc_now
from edgeloop.domain.signed_pointer import AcceptedPointer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accepted_pointers (
    model_name TEXT PRIMARY KEY,
    serial INTEGER NOT NULL,
    digest TEXT NOT NULL,
    expires TEXT NOT NULL,
    accepted_at TEXT NOT NULL
)
"""


class SqlitePointerLedger:
    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction on a fresh connection (the poller's thread and readyz's), closed afterwards."""
        connection = sqlite3.connect(self._path, timeout=30)
        try:
            connection.execute("PRAGMA synchronous=FULL")  # an acceptance must survive a crash right after
            with connection:
                yield connection
        finally:
            connection.close()

    def last_accepted(self, name: str) -> AcceptedPointer | None:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT serial, digest, expires FROM accepted_pointers WHERE model_name = ?", (name,)
            ).fetchone()
        if row is None:
            return None
        return AcceptedPointer(int(row[0]), str(row[1]), parse_timestamp(str(row[2]), "expires"))

    def record_accepted(self, name: str, accepted: AcceptedPointer) -> None:
        # The WHERE keeps the higher serial if two writers race: the remembered serial only grows.
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO accepted_pointers VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (model_name) DO UPDATE SET serial = excluded.serial, digest = excluded.digest,"
                " expires = excluded.expires, accepted_at = excluded.accepted_at"
                " WHERE excluded.serial >= accepted_pointers.serial",
                (
                    name,
                    accepted.serial,
                    accepted.digest,
                    format_timestamp(accepted.expires),
                    format_timestamp(utc_now()),
                ),
            )
