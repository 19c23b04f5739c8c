"""The RowSink port on local files: the default when no Power BI workspace is configured.

Each push appends its rows as JSON Lines to ``<directory>/<table>.jsonl`` in one
write, flushed and fsynced before returning, so the end-to-end path (edge ->
compliant blob -> topic -> feed) runs and can be inspected without Power BI.
It enforces the same per-request limits as the service, so a chunking bug shows
up locally too.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson

from edgeloop.domain.powerbi_schema import MAX_ROWS_PER_POST, MAX_STRING_CHARS

_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")


class LocalRowSink:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    def path_for(self, table: str) -> Path:
        if not _TABLE_NAME.fullmatch(table):
            raise ValueError(f"table: not a valid table name {table!r}")
        return self.directory / f"{table}.jsonl"

    def push_rows(self, table: str, rows: Sequence[dict[str, object]]) -> None:
        if len(rows) > MAX_ROWS_PER_POST:
            raise ValueError(f"rows: {len(rows)} rows in one push, at most {MAX_ROWS_PER_POST}")
        for row in rows:
            for column, value in row.items():
                if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
                    raise ValueError(
                        f"{table}.{column}: string of {len(value)} characters, at most {MAX_STRING_CHARS}"
                    )
        data = b"".join(orjson.dumps(row) + b"\n" for row in rows)
        path = self.path_for(table)
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())

    def read_rows(self, table: str) -> list[dict[str, object]]:
        """Everything pushed to ``table`` so far (tests, the local report)."""
        path = self.path_for(table)
        if not path.exists():
            return []
        return [orjson.loads(line) for line in path.read_bytes().splitlines() if line]
