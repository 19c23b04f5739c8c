"""The outbox across processes: kill -9 loses no acknowledged append; capacity holds for all."""

from __future__ import annotations

import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from edgeloop.adapters.sqlite_outbox import SqliteOutbox

CHILD = Path(__file__).with_name("outbox_child.py")


def start_appender(
    path: Path, capacity: int, per_entry: int, synchronous: str = "FULL"
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), "append", str(path), str(capacity), str(per_entry), synchronous],
        stdout=subprocess.PIPE,
        text=True,
    )


def read_lines_until(process: subprocess.Popen[str], count: int, timeout: float) -> list[str]:
    """Lines the child printed, until ``count`` of them or the timeout."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while len(lines) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"child printed {len(lines)} of {count} lines within {timeout}s")
            if selector.select(left):
                line = process.stdout.readline()
                if not line:
                    break
                lines.append(line.strip())
    return lines


@pytest.mark.slow
@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_every_append_that_returned_survives_kill_9(tmp_path: Path, synchronous: str) -> None:
    path = tmp_path / "outbox.db"
    child = start_appender(path, capacity=10_000_000, per_entry=1000, synchronous=synchronous)
    try:
        printed = read_lines_until(child, 40, timeout=120)
        child.send_signal(signal.SIGKILL)  # mid-stream: it is appending the next entry
        child.wait(30)
        # Through the same buffered reader: communicate() would read the pipe past the lines
        # readline() already buffered, and lose them.
        assert child.stdout is not None
        rest = child.stdout.read()
    finally:
        if child.poll() is None:
            child.kill()
    printed += [line for line in rest.splitlines() if line]
    assert child.returncode == -signal.SIGKILL
    assert len(printed) >= 40

    outbox = SqliteOutbox(path, capacity=10_000_000)
    try:
        for entry_id in printed:
            assert outbox.has_record(entry_id, 999), entry_id
        claimed = {entry.entry_id: entry.items for entry in outbox.claim(10_000_000, 60)}
        assert set(printed) <= set(claimed)
        assert len(claimed) - len(printed) <= 1  # at most the append whose print never happened
        for entry_id in printed:
            ids = [orjson.loads(record)["insight_id"] for record in claimed[entry_id]]
            assert ids == [f"{entry_id}-{i:05d}" for i in range(1000)]
        assert outbox.depth() == 1000 * len(claimed)
    finally:
        outbox.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.slow
def test_capacity_holds_when_several_processes_append(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    SqliteOutbox(path, capacity=3000).close()  # create the file first, as a deployment would
    children = [start_appender(path, capacity=3000, per_entry=10) for _ in range(3)]
    accepted: list[str] = []
    try:
        for child in children:
            out, _ = child.communicate(timeout=120)
            lines = out.splitlines()
            assert lines[-1] == "full"
            accepted += lines[:-1]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()

    outbox = SqliteOutbox(path, capacity=3000)
    try:
        assert len(accepted) == 300  # all three stopped at exactly the shared capacity
        assert outbox.depth() == 3000
        assert all(outbox.has_record(entry_id, 9) for entry_id in accepted)
    finally:
        outbox.close()
