"""Group commit: concurrent small requests share one outbox transaction.

The outbox makes every append durable with an fsync (about a millisecond), so
one transaction per single-row request would cap a site at about a thousand
scorings a second. Instead, requests that arrive while a commit is in flight
join the next *group*: one outbox batch whose records are the requests' records
one after the other. A request's rows are numbered from its offset in the group
(insight id ``{group batch id}-{offset + i:05d}``), so ids stay unique and
``has_record`` works unchanged. Requests are answered only after their group's
transaction committed; if it fails, every request of the group gets the error.

One writer thread does all appends of the process (large requests get a group
of their own), so the process's requests never contend for SQLite's write lock.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from edgeloop.ports import Outbox, OutboxFull

logger = logging.getLogger(__name__)

T = TypeVar("T")
Done = Callable[[BaseException | None], None]

# Row numbers have five digits; a group never holds more records than that allows.
MAX_GROUP_RECORDS = 20_000


class CommitterStopped(RuntimeError):
    """The process is shutting down and takes no more records."""


@dataclass
class _Group:
    batch_id: str
    records: list[bytes] = field(default_factory=list)
    waiters: list[Done] = field(default_factory=list)
    closed: bool = False


class GroupCommitter:
    def __init__(
        self,
        outbox: Outbox,
        kind: str,
        batch_ids: Callable[[], str],
        *,
        max_group_records: int = MAX_GROUP_RECORDS,
    ) -> None:
        if not 1 <= max_group_records <= 99_999:
            raise ValueError("max_group_records must be within 1..99999 (five-digit row numbers)")
        self._outbox = outbox
        self._kind = kind
        self._batch_ids = batch_ids
        self._max = max_group_records
        self._cond = threading.Condition()
        self._open: _Group | None = None
        self._ready: deque[_Group] = deque()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"outbox-writer-{kind}", daemon=True)
        self._thread.start()

    def join_group(self, count: int, build: Callable[[str, int], tuple[T, Sequence[bytes]]], done: Done) -> T:
        """Add ``count`` records, built by ``build(batch_id, offset)``, to the open group.

        Returns what ``build`` returned; ``done(error)`` is called from the writer thread
        once the group's transaction committed (``None``) or failed. ``build`` runs under
        the group's lock: keep it short (it is meant for a handful of rows).
        """
        with self._cond:
            self._check_running()
            group = self._open
            if group is None or len(group.records) + count > self._max:
                if group is not None:
                    self._close(group)
                group = self._open = _Group(self._batch_ids())
            value, records = build(group.batch_id, len(group.records))
            if len(records) != count:
                raise ValueError(f"build returned {len(records)} records, {count} announced")
            group.records.extend(records)
            group.waiters.append(done)
            self._cond.notify()
        return value

    def commit_alone(self, batch_id: str, records: Sequence[bytes], done: Done) -> None:
        """Commit a request's records as a batch of their own, after the groups before it."""
        with self._cond:
            self._check_running()
            if self._open is not None:
                self._close(self._open)
            self._ready.append(_Group(batch_id, list(records), [done], closed=True))
            self._cond.notify()

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what was accepted, then end the writer thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"outbox writer did not finish within {timeout:.0f}s")

    def _check_running(self) -> None:
        if self._stopping:
            raise CommitterStopped("shutting down: not accepting records")

    def _close(self, group: _Group) -> None:
        group.closed = True
        self._ready.append(group)
        if group is self._open:
            self._open = None

    def _next_group(self) -> _Group | None:
        with self._cond:
            while not self._ready and self._open is None:
                if self._stopping:
                    return None
                self._cond.wait()
            if not self._ready:
                assert self._open is not None
                self._close(self._open)
            return self._ready.popleft()

    def _run(self) -> None:
        while (group := self._next_group()) is not None:
            error: BaseException | None = None
            try:
                self._outbox.append(group.batch_id, self._kind, group.records)
            except OutboxFull as exc:
                error = exc
            except Exception as exc:
                # Not swallowed: every request of the group gets it as its answer.
                logger.exception("outbox append of %d records failed", len(group.records))
                error = exc
            for done in group.waiters:
                done(error)
