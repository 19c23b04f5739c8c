"""The FrameStore and FrameUploadLog ports on SQLite and a folder of files, on the site's volume.

Layout under the store's folder: ``frames.sqlite3`` (the frames' rows and the upload
audit), ``files/<frame id>.<jpg|png>`` (the bytes), ``tmp/`` (frames being written).

Atomic keep: the bytes go to ``tmp/``, are fsynced and renamed into ``files/``, and only
then is the row committed (``keep_many``: every frame's file, one fsync of the folder, then
all the rows in one commit: a batch costs its files' fsyncs and two more, not three a frame);
listings and ``get`` read rows, so a crash before the commit leaves nothing visible.
Deletion runs the other way (row, then file). What a crash leaves behind (a temp file, a
file without a row) is swept on open and on ``expire`` once older than ``orphan_grace``
(another process's keep may be between its rename and its commit).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from edgeloop.adapters.sqlite_connections import ThreadConnections
from edgeloop.adapters.sqlite_frame_rows import (
    DECISION_COLUMNS,
    FRAME_COLUMNS,
    SCHEMA,
    decision_values,
    frame_decision,
    frame_values,
    stored_frame,
)
from edgeloop.domain.frame_policy import UploadOutcome
from edgeloop.domain.frames import DayUsage, KeptFrame, RetentionBounds, StoredFrame
from edgeloop.domain.records import format_timestamp, parse_timestamp, utc_now
from edgeloop.ports.frames import FrameDecision, FrameTooLarge, PendingFrame

DEFAULT_ORPHAN_GRACE = timedelta(minutes=10)
_NOT_UPLOADED = (
    "NOT EXISTS (SELECT 1 FROM frame_decisions u WHERE u.frame_id = frames.frame_id"
    " AND u.outcome = 'uploaded')"
)
_LAST_OUTCOME = (
    "(SELECT d.outcome FROM frame_decisions d WHERE d.frame_id = frames.frame_id ORDER BY d.seq DESC LIMIT 1)"
)


class SqliteFrameStore:
    """One store per site volume; safe for several threads (one SQLite connection each)."""

    def __init__(
        self,
        folder: Path,
        bounds: RetentionBounds,
        *,
        clock: Callable[[], datetime] = utc_now,
        orphan_grace: timedelta = DEFAULT_ORPHAN_GRACE,
        busy_timeout: float = 10.0,
    ) -> None:
        self._files = folder / "files"
        self._tmp = folder / "tmp"
        for path in (self._files, self._tmp):
            path.mkdir(parents=True, exist_ok=True)
        self._bounds = bounds
        self._clock = clock
        self._orphan_grace = orphan_grace
        self._db = ThreadConnections(
            folder / "frames.sqlite3", busy_timeout=busy_timeout, pragmas=("PRAGMA journal_mode=WAL",)
        )
        with self._db.transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)
        self._sweep_orphans()

    # FrameStore

    def keep(self, frame: KeptFrame) -> StoredFrame:
        return self.keep_many([frame])[0]

    def keep_many(self, frames: Sequence[KeptFrame]) -> list[StoredFrame]:
        for index, frame in enumerate(frames):  # all checked before anything is written
            if frame.size_bytes > self._bounds.max_total_bytes:
                which = f" (frame {index} of the batch)" if len(frames) > 1 else ""
                raise FrameTooLarge(
                    f"data: a frame of {frame.size_bytes} bytes{which} exceeds the store's bound of "
                    f"{self._bounds.max_total_bytes} bytes"
                )
        now = self._clock()
        stored = [
            StoredFrame(uuid.uuid4().hex, frame.media_type, frame.size_bytes, now, frame.origin, frame.result)
            for frame in frames
        ]
        names = [f"{item.frame_id}.{item.file_suffix}" for item in stored]
        expired: list[str] = []
        try:
            for name, frame in zip(names, frames, strict=True):
                self._write_file(name, frame.data)
            self._sync_folder()  # the renames themselves survive a power cut: one fsync for all
            with self._db.transaction(synchronous="FULL") as conn:
                for item, name in zip(stored, names, strict=True):  # as one keep after another
                    expired += self._expire_rows(conn, now, item.size_bytes)
                    self._insert_row(conn, item, name)
        except BaseException:
            self._unlink(names)
            raise
        self._unlink(expired)  # a frame of this batch that retention already pushed out included
        return stored

    def list_for_labelling(self, limit: int) -> list[StoredFrame]:
        rows = (
            self._db.get()
            .execute(f"SELECT {FRAME_COLUMNS} FROM frames ORDER BY seq DESC LIMIT ?", (limit,))
            .fetchall()
        )
        return [stored_frame(row) for row in rows]

    def get(self, frame_id: str) -> KeptFrame | None:
        row = (
            self._db.get()
            .execute(f"SELECT {FRAME_COLUMNS}, file_name FROM frames WHERE frame_id = ?", (frame_id,))
            .fetchone()
        )
        if row is None:
            return None
        try:
            data = (self._files / row[-1]).read_bytes()
        except FileNotFoundError:  # expired between the read of the row and of the file
            return None
        stored = stored_frame(row)
        return KeptFrame(data, stored.media_type, stored.origin, stored.result)

    def expire(self, now: datetime | None = None) -> int:
        with self._db.transaction() as conn:
            expired = self._expire_rows(conn, now or self._clock(), 0)
        self._unlink(expired)
        self._sweep_orphans()
        return len(expired)

    def kept_totals(self) -> tuple[int, int]:
        """``(frames, bytes)`` kept now (the /metrics gauges)."""
        frames, size = (
            self._db.get().execute("SELECT count(*), coalesce(sum(size_bytes), 0) FROM frames").fetchone()
        )
        return int(frames), int(size)

    # FrameUploadLog

    def pending(self, after: int | None, limit: int) -> list[PendingFrame]:
        rows = (
            self._db.get()
            .execute(
                f"SELECT {FRAME_COLUMNS}, {_LAST_OUTCOME}, seq FROM frames"
                f" WHERE seq > ? AND {_NOT_UPLOADED} ORDER BY seq LIMIT ?",
                (after or 0, limit),
            )
            .fetchall()
        )
        return [
            PendingFrame(stored_frame(row), cast(UploadOutcome | None, row[-2]), int(row[-1])) for row in rows
        ]

    def record(self, decisions: Sequence[FrameDecision]) -> None:
        try:
            with self._db.transaction(synchronous="FULL") as conn:
                conn.executemany(
                    f"INSERT INTO frame_decisions ({DECISION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [decision_values(decision) for decision in decisions],
                )
        except sqlite3.IntegrityError:
            raise ValueError("a frame in these decisions was already recorded as uploaded") from None

    def uploaded_since(self, site_id: str, since: datetime) -> DayUsage:
        frames, size = (
            self._db.get()
            .execute(
                "SELECT count(*), coalesce(sum(size_bytes), 0) FROM frame_decisions"
                " WHERE outcome = 'uploaded' AND site_id = ? AND decided_at >= ?",
                (site_id, format_timestamp(since)),
            )
            .fetchone()
        )
        return DayUsage(int(frames), int(size))

    def decisions(self, limit: int) -> list[FrameDecision]:
        rows = (
            self._db.get()
            .execute(f"SELECT {DECISION_COLUMNS} FROM frame_decisions ORDER BY seq DESC LIMIT ?", (limit,))
            .fetchall()
        )
        return [frame_decision(row) for row in rows]

    def close(self) -> None:
        self._db.close()

    # the parts

    def _write_file(self, file_name: str, data: bytes) -> None:
        partial = self._tmp / f"{file_name}.part"
        with partial.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self._files / file_name)

    def _sync_folder(self) -> None:
        descriptor = os.open(self._files, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def _insert_row(self, conn: sqlite3.Connection, stored: StoredFrame, file_name: str) -> None:
        conn.execute(
            f"INSERT INTO frames (frame_id, file_name, {FRAME_COLUMNS.split(', ', 1)[1]})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            frame_values(stored, file_name),
        )

    def _expire_rows(self, conn: sqlite3.Connection, now: datetime, incoming_bytes: int) -> list[str]:
        """Delete the rows retention (with room for ``incoming_bytes``) expires; their file names."""
        (total,) = conn.execute("SELECT coalesce(sum(size_bytes), 0) FROM frames").fetchone()
        oldest_first = (
            (str(frame_id), parse_timestamp(kept_at, "kept_at"), int(size))
            for frame_id, kept_at, size in conn.execute(
                "SELECT frame_id, kept_at, size_bytes FROM frames ORDER BY kept_at, seq"
            )
        )
        expired = self._bounds.to_expire(oldest_first, int(total), now, incoming_bytes)
        names: list[str] = []
        for frame_id in expired:
            (name,) = conn.execute("SELECT file_name FROM frames WHERE frame_id = ?", (frame_id,)).fetchone()
            conn.execute("DELETE FROM frames WHERE frame_id = ?", (frame_id,))
            names.append(str(name))
        return names

    def _unlink(self, file_names: Sequence[str]) -> None:
        for name in file_names:
            (self._files / name).unlink(missing_ok=True)

    def _sweep_orphans(self) -> None:
        """Delete temp files and files without a row, older than the grace (what a crash left)."""
        oldest = time.time() - self._orphan_grace.total_seconds()  # file times are the wall clock's
        known = {str(name) for (name,) in self._db.get().execute("SELECT file_name FROM frames")}
        for folder, keep in ((self._tmp, set[str]()), (self._files, known)):
            for path in folder.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if path.name not in keep and path.stat().st_mtime <= oldest:
                        path.unlink()
