"""ThreadConnections: a connection per thread on one SQLite file, write transactions all or nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edgeloop.adapters.sqlite_connections import ThreadConnections


def test_each_thread_gets_its_own_connection_with_the_pragmas(tmp_path: Path) -> None:
    connections = ThreadConnections(
        tmp_path / "db.sqlite3", busy_timeout=5, pragmas=["PRAGMA journal_mode=WAL"]
    )
    main = connections.get()
    assert connections.get() is main
    assert main.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(connections.get()))
    worker.start()
    worker.join(timeout=10)
    assert len(seen) == 1
    assert seen[0] is not main
    connections.close()
    assert connections.get() is not main  # closed connections are never handed out again
    connections.close()


def test_a_transaction_commits_or_rolls_back_everything(tmp_path: Path) -> None:
    connections = ThreadConnections(tmp_path / "db.sqlite3", busy_timeout=5)
    with connections.transaction() as conn:
        conn.execute("CREATE TABLE t (v INTEGER)")
        conn.execute("INSERT INTO t VALUES (1)")

    def insert_then_fail() -> None:
        with connections.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        insert_then_fail()
    assert not connections.get().in_transaction
    assert connections.get().execute("SELECT v FROM t").fetchall() == [(1,)]
    connections.close()


def test_the_durability_level_is_set_per_transaction(tmp_path: Path) -> None:
    connections = ThreadConnections(tmp_path / "db.sqlite3", busy_timeout=5)
    with connections.transaction(synchronous="FULL") as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with connections.transaction(synchronous="NORMAL") as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    with connections.transaction() as conn:  # None keeps the connection's last level
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    connections.close()
