"""One SQLite connection per thread on one file, and short write transactions on it.

Shared by the SQLite adapters whose file many threads (and processes) use at
once: a connection is never shared by two threads at once, ``busy_timeout``
queues writers, and every write is one ``BEGIN IMMEDIATE`` transaction (the
write lock up front, so a read-then-write can never deadlock or race another
process). A forked child must not touch its parent's SQLite handles, so it
opens its own. ``raising_port_errors`` turns SQLite's exceptions into a port's own.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class ThreadConnections:
    """Opens this thread's connection on first use, running ``pragmas`` on it."""

    def __init__(self, path: Path, *, busy_timeout: float, pragmas: Sequence[str] = ()) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._pragmas = tuple(pragmas)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._pid = os.getpid()

    def get(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode: transactions are explicit)."""
        if self._pid != os.getpid():
            self._local = threading.local()
            self._connections = []
            self._pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
            )
            for pragma in self._pragmas:
                conn.execute(pragma)
            self._local.conn = conn
            self._local.synchronous = ""
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self, *, synchronous: str | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed on success, rolled back on any exception.

        ``synchronous``: the durability of this commit (SQLite's ``synchronous``, set only
        when it differs from the connection's last one); None keeps the connection's.
        """
        conn = self.get()
        if synchronous is not None and self._local.synchronous != synchronous:
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


def raising_port_errors(
    unavailable: type[Exception], broken: type[Exception]
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorates an adapter's method so that SQLite's exceptions leave it as its port's own.

    ``sqlite3.OperationalError`` (busy or locked past the busy timeout, disk full, I/O
    error: waiting may mend it) becomes ``unavailable``; any other ``sqlite3.Error``
    becomes ``broken``. SQLite's exception stays chained, for the logs.
    """

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def translated(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except sqlite3.OperationalError as error:
                raise unavailable(f"SQLite: {error}") from error
            except sqlite3.Error as error:
                raise broken(f"SQLite: {type(error).__name__}: {error}") from error

        return translated

    return decorate
