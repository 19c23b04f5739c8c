"""SqliteOutbox on a real SQLite file: append, capacity, leases, acknowledgement, retention."""

from __future__ import annotations

import random
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from edgeloop.adapters.sqlite_outbox import MAX_RECORD_BYTES, DuplicateEntry, SqliteOutbox
from edgeloop.ports import Outbox, OutboxError, OutboxFull, OutboxReader, OutboxUnavailable
from edgeloop.wire.insight_columns import InsightColumns
from edgeloop.wire.insight_wire import number_texts
from edgeloop.wire.packing import MAX_PACKED_BYTES, pack_items


class FakeClock:
    """A settable wall clock, so lease expiry and retention need no waiting."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def records(entry_id: str, count: int, kind: str = "insight") -> list[bytes]:
    return [orjson.dumps({"kind": kind, "id": f"{entry_id}-{i:05d}", "value": i}) for i in range(count)]


def new_id() -> str:
    return uuid.uuid4().hex


def table_totals(path: Path) -> tuple[int, int]:
    """(unsent records, sent records) counted from the rows themselves."""
    with sqlite3.connect(path) as conn:
        unsent = conn.execute("SELECT COALESCE(SUM(record_count), 0) FROM batches WHERE sent_at IS NULL")
        sent = conn.execute("SELECT COALESCE(SUM(record_count), 0) FROM batches WHERE sent_at IS NOT NULL")
        return int(unsent.fetchone()[0]), int(sent.fetchone()[0])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteOutbox]:
    box = SqliteOutbox(tmp_path / "outbox.db", capacity=1000, clock=clock)
    yield box
    box.close()


def test_implements_both_ports(outbox: SqliteOutbox) -> None:
    scoring_side: Outbox = outbox
    relay_side: OutboxReader = outbox
    assert scoring_side.capacity() == 1000
    assert relay_side.claim(10, 60) == []


def test_append_counts_depth_and_claims_oldest_entry_first_in_order(outbox: SqliteOutbox) -> None:
    first, second = new_id(), new_id()
    outbox.append(first, "insight", records(first, 3))
    outbox.append(second, "feedback", records(second, 2, "feedback"))
    assert outbox.depth() == 5

    claimed = outbox.claim(100, 60)

    assert [(b.entry_id, b.kind) for b in claimed] == [(first, "insight"), (second, "feedback")]
    assert list(claimed[0].items) == records(first, 3)
    assert list(claimed[1].items) == records(second, 2, "feedback")
    assert outbox.depth() == 5  # leased is not acknowledged


def test_record_bytes_round_trip_exactly(outbox: SqliteOutbox) -> None:
    entry_id = new_id()
    odd = [b'{"text":"caf\xc3\xa9 \\n \\u0000"}', b"{}", b'"\x00\xff"']
    outbox.append(entry_id, "insight", odd)
    assert list(outbox.claim(10, 60)[0].items) == odd


def test_outbox_full_is_raised_before_anything_is_written(outbox: SqliteOutbox, tmp_path: Path) -> None:
    fits = new_id()
    outbox.append(fits, "insight", records(fits, 990))
    too_many = new_id()

    with pytest.raises(OutboxFull) as raised:
        outbox.append(too_many, "insight", records(too_many, 11))

    assert (raised.value.depth, raised.value.capacity, raised.value.requested) == (990, 1000, 11)
    assert outbox.depth() == 990
    assert not outbox.has_record(too_many, 0)
    assert table_totals(tmp_path / "outbox.db") == (990, 0)
    exactly_full = new_id()
    outbox.append(exactly_full, "insight", records(exactly_full, 10))
    assert outbox.depth() == 1000


def test_acknowledged_records_free_capacity(outbox: SqliteOutbox) -> None:
    entry_id = new_id()
    outbox.append(entry_id, "insight", records(entry_id, 1000))
    outbox.mark_sent([b.entry_id for b in outbox.claim(1000, 60)])
    assert outbox.depth() == 0
    another = new_id()
    outbox.append(another, "insight", records(another, 1000))
    assert outbox.depth() == 1000


def test_oldest_pending_age_is_the_wait_of_the_oldest_unacknowledged_entry(
    outbox: SqliteOutbox, clock: FakeClock
) -> None:
    assert outbox.oldest_pending_age() == 0.0
    first, second = new_id(), new_id()
    outbox.append(first, "insight", records(first, 3))
    clock.now += 20
    outbox.append(second, "insight", records(second, 3))
    clock.now += 10
    assert outbox.oldest_pending_age() == 30.0
    (oldest,) = outbox.claim(3, 60)  # a lease is not an acknowledgement
    assert outbox.oldest_pending_age() == 30.0
    outbox.mark_sent([oldest.entry_id])
    assert outbox.oldest_pending_age() == 10.0
    outbox.mark_sent([b.entry_id for b in outbox.claim(3, 60)])
    assert outbox.oldest_pending_age() == 0.0


@pytest.mark.parametrize(
    ("kind", "entry_records", "message"),
    [
        ("telemetry", [b"{}"], "kind"),
        ("insight", [b"{}", b'{"a":\n1}'], "newline"),
        ("insight", [b"{}", b""], "empty"),
        ("insight", [b'"' + b"x" * MAX_RECORD_BYTES + b'"'], "exceeds"),
    ],
)
def test_bad_input_is_rejected_and_nothing_written(
    outbox: SqliteOutbox, kind: str, entry_records: list[bytes], message: str
) -> None:
    entry_id = new_id()
    with pytest.raises(ValueError, match=message):
        outbox.append(entry_id, kind, entry_records)
    assert outbox.depth() == 0
    assert not outbox.has_record(entry_id, 0)


def test_duplicate_entry_id_is_rejected_and_depth_unchanged(outbox: SqliteOutbox) -> None:
    entry_id = new_id()
    outbox.append(entry_id, "insight", records(entry_id, 2))
    with pytest.raises(DuplicateEntry, match="entry_id"):
        outbox.append(entry_id, "insight", records(entry_id, 5))
    assert outbox.depth() == 2


def test_empty_entry_stores_nothing(outbox: SqliteOutbox) -> None:
    entry_id = new_id()
    outbox.append(entry_id, "insight", [])
    assert outbox.depth() == 0
    assert outbox.claim(10, 60) == []


def test_has_record_knows_each_index_of_an_entry(outbox: SqliteOutbox) -> None:
    entry_id = new_id()
    outbox.append(entry_id, "insight", records(entry_id, 3))
    assert [outbox.has_record(entry_id, i) for i in (-1, 0, 2, 3)] == [False, True, True, False]
    assert not outbox.has_record(new_id(), 0)


def test_recent_is_newest_first_per_kind_including_acknowledged(outbox: SqliteOutbox) -> None:
    older, feedback, newer = new_id(), new_id(), new_id()
    outbox.append(older, "insight", records(older, 3))
    outbox.mark_sent([b.entry_id for b in outbox.claim(100, 60)])
    outbox.append(feedback, "feedback", records(feedback, 2, "feedback"))
    outbox.append(newer, "insight", records(newer, 2))

    expected = [orjson.loads(r) for r in reversed(records(older, 3) + records(newer, 2))]
    assert outbox.recent("insight", 4) == expected[:4]
    assert outbox.recent("insight", 50) == expected
    feedback_records = [orjson.loads(r) for r in reversed(records(feedback, 2, "feedback"))]
    assert outbox.recent("feedback", 50) == feedback_records
    assert outbox.recent("insight", 0) == []


def column_documents(entry_id: str, count: int) -> InsightColumns:
    return InsightColumns(
        "site-1",
        "2026-11-21T10:00:00Z",
        {"name": "m", "version": "1", "sha256": "0" * 64},
        entry_id,
        0,
        {"x": [float(i) for i in range(count)]},
        {"p": number_texts([i / 100 for i in range(count)])},
        [False] * count,
        [()] * count,
        [{}] * count,
    )


def test_an_entry_of_column_documents_counts_stands_for_and_expands_to_its_records(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite3", capacity=10)
    entry_id = new_id()
    columns = column_documents(entry_id, 6)
    documents = [document for document, _ in columns.documents(400)]
    assert len(documents) > 1
    outbox.append(entry_id, "insight", documents, record_count=6)
    assert outbox.depth() == 6
    assert [outbox.has_record(entry_id, i) for i in (0, 5, 6)] == [True, True, False]
    assert [r["insight_id"] for r in outbox.recent("insight", 4)] == [
        f"{entry_id}-{i:05d}" for i in (5, 4, 3, 2)
    ]
    with pytest.raises(OutboxFull):
        outbox.append(new_id(), "insight", documents[:1], record_count=5)
    (claimed,) = outbox.claim(100, 60)
    assert (claimed.items, claimed.record_count) == (tuple(documents), 6)


def test_entry_insights_reads_an_entry_s_insights_and_nothing_of_another_kind(outbox: SqliteOutbox) -> None:
    entry_id, feedback = new_id(), new_id()
    documents = [document for document, _ in column_documents(entry_id, 6).documents(400)]
    assert len(documents) > 1
    outbox.append(entry_id, "insight", documents, record_count=6)
    outbox.append(feedback, "feedback", [orjson.dumps({"insight_id": f"{feedback}-00000"})])
    found = outbox.entry_insights(entry_id)
    assert [r["insight_id"] for r in found] == [f"{entry_id}-{i:05d}" for i in range(6)]
    assert found[4]["inputs"] == {"x": 4.0}
    outbox.mark_sent([entry.entry_id for entry in outbox.claim(100, 60)])  # retained: still read
    assert outbox.entry_insights(entry_id) == found
    assert outbox.entry_insights(feedback) == []
    assert outbox.entry_insights(new_id()) == []


def test_fewer_records_than_items_is_refused(outbox: SqliteOutbox) -> None:
    entry_id = new_id()
    with pytest.raises(ValueError, match="record_count"):
        outbox.append(entry_id, "insight", records(entry_id, 3), record_count=2)
    assert outbox.depth() == 0


def test_claim_takes_about_limit_records_but_at_least_one_entry(outbox: SqliteOutbox) -> None:
    ids = [new_id() for _ in range(5)]
    for entry_id in ids:
        outbox.append(entry_id, "insight", records(entry_id, 40))
    assert [b.entry_id for b in outbox.claim(1, 60)] == ids[:1]
    assert [b.entry_id for b in outbox.claim(100, 60)] == ids[1:4]  # stops once 100 are reached
    assert [b.entry_id for b in outbox.claim(100, 60)] == ids[4:]


def test_leased_entries_are_not_claimed_again_until_the_lease_runs_out(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "shared.db"
    relay_a = SqliteOutbox(path, capacity=100, clock=clock)
    relay_b = SqliteOutbox(path, capacity=100, clock=clock)  # another process, in effect
    entry_id = new_id()
    relay_a.append(entry_id, "insight", records(entry_id, 2))

    assert [b.entry_id for b in relay_a.claim(10, lease_seconds=30)] == [entry_id]
    assert relay_b.claim(10, 30) == []
    relay_b.release([entry_id])  # not b's lease: no effect
    assert relay_b.claim(10, 30) == []

    clock.now += 31  # relay a died holding the lease
    assert [b.entry_id for b in relay_b.claim(10, 30)] == [entry_id]
    relay_a.close()
    relay_b.close()


def test_release_makes_entries_claimable_again(outbox: SqliteOutbox) -> None:
    entry_id = new_id()
    outbox.append(entry_id, "insight", records(entry_id, 2))
    outbox.release([b.entry_id for b in outbox.claim(10, 60)])
    assert [b.entry_id for b in outbox.claim(10, 60)] == [entry_id]


def test_mark_sent_twice_counts_once(outbox: SqliteOutbox, tmp_path: Path) -> None:
    first, second = new_id(), new_id()
    outbox.append(first, "insight", records(first, 3))
    outbox.append(second, "insight", records(second, 4))
    outbox.mark_sent([first])
    outbox.mark_sent([first, second])  # a resend by a relay whose lease had run out
    assert outbox.depth() == 0
    assert outbox.retained() == 7
    assert table_totals(tmp_path / "outbox.db") == (0, 7)
    assert outbox.claim(10, 60) == []


def test_retention_by_age_prunes_acknowledged_entries_only(tmp_path: Path, clock: FakeClock) -> None:
    outbox = SqliteOutbox(tmp_path / "o.db", capacity=100, retention=timedelta(hours=1), clock=clock)
    acknowledged, unsent = new_id(), new_id()
    outbox.append(acknowledged, "insight", records(acknowledged, 3))
    outbox.mark_sent([acknowledged])
    outbox.append(unsent, "insight", records(unsent, 2))

    clock.now += 1800
    assert outbox.prune() == 0
    assert outbox.has_record(acknowledged, 0)
    clock.now += 1801
    assert outbox.prune() == 3

    assert not outbox.has_record(acknowledged, 0)
    assert outbox.has_record(unsent, 1)  # older than retention, but never sent: kept
    assert outbox.recent("insight", 10) == [orjson.loads(r) for r in reversed(records(unsent, 2))]
    assert (outbox.depth(), outbox.retained()) == (2, 0)
    assert table_totals(tmp_path / "o.db") == (2, 0)
    outbox.close()


def test_retention_by_count_keeps_the_newest_acknowledged_records(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.db", capacity=100, retention=5)
    ids = [new_id() for _ in range(4)]
    for entry_id in ids:
        outbox.append(entry_id, "insight", records(entry_id, 2))
        outbox.mark_sent([entry_id])  # pruning happens as entries are acknowledged

    assert [outbox.has_record(entry_id, 0) for entry_id in ids] == [False, False, True, True]
    assert outbox.retained() == 4
    assert table_totals(tmp_path / "o.db") == (0, 4)
    outbox.close()


def test_concurrent_appends_from_threads_are_all_kept(outbox: SqliteOutbox, tmp_path: Path) -> None:
    appended: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            entry_id = new_id()
            outbox.append(entry_id, "insight", records(entry_id, 3))
            with lock:
                appended.append(entry_id)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert outbox.depth() == 360
    assert all(outbox.has_record(entry_id, 2) for entry_id in appended)
    assert table_totals(tmp_path / "outbox.db") == (360, 0)
    claimed = outbox.claim(10_000, 60)
    assert sorted(b.entry_id for b in claimed) == sorted(appended)


def test_reopening_keeps_everything(tmp_path: Path) -> None:
    first = SqliteOutbox(tmp_path / "o.db", capacity=100)
    entry_id = new_id()
    first.append(entry_id, "insight", records(entry_id, 4))
    first.close()
    second = SqliteOutbox(tmp_path / "o.db", capacity=100)
    assert second.depth() == 4
    assert list(second.claim(10, 60)[0].items) == records(entry_id, 4)
    second.close()


def test_invalid_construction_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="capacity"):
        SqliteOutbox(tmp_path / "o.db", capacity=0)
    with pytest.raises(ValueError, match="retention"):
        SqliteOutbox(tmp_path / "o.db", capacity=1, retention=timedelta(seconds=-1))


def test_the_largest_accepted_record_fits_one_queue_message_even_incompressible(outbox: SqliteOutbox) -> None:
    noise = bytes(byte for byte in random.randbytes(MAX_RECORD_BYTES * 2) if byte != 0x0A)[:MAX_RECORD_BYTES]
    entry_id = new_id()
    outbox.append(entry_id, "insight", [noise])
    (claimed,) = outbox.claim(10, 60)
    ((body, count),) = pack_items(list(claimed.items))
    assert count == 1
    assert len(body) <= MAX_PACKED_BYTES


def test_a_file_locked_past_the_busy_timeout_is_unavailable_not_a_sqlite_error(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    outbox = SqliteOutbox(path, capacity=100, busy_timeout=0.05)
    waiting = new_id()
    outbox.append(waiting, "insight", records(waiting, 2))
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        entry_id = new_id()
        with pytest.raises(OutboxUnavailable, match="locked") as raised:
            outbox.append(entry_id, "insight", records(entry_id, 1))
        assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
        with pytest.raises(OutboxUnavailable):
            outbox.claim(10, 60)
        with pytest.raises(OutboxUnavailable):
            outbox.mark_sent([waiting])
        assert outbox.depth() == 2  # reads go on beside the writer (WAL)
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    assert [entry.entry_id for entry in outbox.claim(10, 60)] == [waiting]
    outbox.close()


def test_a_corrupt_file_is_an_outbox_error_not_a_sqlite_error(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    outbox = SqliteOutbox(path, capacity=100)
    entry_id = new_id()
    outbox.append(entry_id, "insight", records(entry_id, 2))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as handle:  # every page but the first (the schema) overwritten
        size = handle.seek(0, 2)
        handle.seek(page_size)
        handle.write(b"\xff" * (size - page_size))
    # A new thread opens a connection of its own, with nothing cached.
    with ThreadPoolExecutor(1) as fresh_thread:
        error = fresh_thread.submit(outbox.depth).exception(timeout=30)
    assert type(error) is OutboxError
    assert isinstance(error.__cause__, sqlite3.DatabaseError)
    outbox.close()


def test_synchronous_mode_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SqliteOutbox(tmp_path / "o.db", capacity=1, synchronous="OFF")  # type: ignore[arg-type]
    relaxed = SqliteOutbox(tmp_path / "o.db", capacity=10, synchronous="NORMAL")
    entry_id = new_id()
    relaxed.append(entry_id, "insight", records(entry_id, 2))
    assert relaxed.depth() == 2
    relaxed.close()


# The outbox's tables before the records moved to a table of their own.
_PAYLOAD_IN_BATCHES_SCHEMA = """
CREATE TABLE batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, batch_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
    record_count INTEGER NOT NULL, created_at REAL NOT NULL, sent_at REAL,
    lease_until REAL NOT NULL DEFAULT 0, lease_owner TEXT, payload BLOB NOT NULL
);
CREATE INDEX batches_pending ON batches (seq, lease_until, record_count, sent_at) WHERE sent_at IS NULL;
CREATE INDEX batches_sent ON batches (sent_at, seq) WHERE sent_at IS NOT NULL;
CREATE INDEX batches_kind ON batches (kind, seq);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""


def test_an_outbox_written_with_payloads_in_batches_keeps_every_record(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    waiting, sent = records("a" * 32, 3), records("b" * 32, 2)
    with sqlite3.connect(path) as conn:
        conn.executescript(_PAYLOAD_IN_BATCHES_SCHEMA)
        conn.execute("INSERT INTO counters VALUES ('pending', 3), ('retained', 2)")
        conn.execute(
            "INSERT INTO batches (batch_id, kind, record_count, created_at, sent_at, payload)"
            " VALUES (?, 'insight', 2, 1.0, 2.0, ?), (?, 'insight', 3, 3.0, NULL, ?)",
            ("b" * 32, b"\n".join(sent), "a" * 32, b"\n".join(waiting)),
        )
    box = SqliteOutbox(path, capacity=100)
    try:
        assert box.depth() == 3
        assert box.recent("insight", 10) == [orjson.loads(r) for r in [*reversed(waiting), *reversed(sent)]]
        [claimed] = box.claim(100, 60)
        assert (claimed.entry_id, list(claimed.items)) == ("a" * 32, waiting)
        box.mark_sent([claimed.entry_id])
        box.append(new_id(), "insight", records("c" * 32, 1))
        assert box.depth() == 1
    finally:
        box.close()
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(batches)")}
    assert "payload" not in columns
    SqliteOutbox(path, capacity=100).close()  # opening it again finds nothing left to move


@pytest.mark.parametrize("retention", [timedelta(seconds=10), 2])
def test_pruning_drops_the_records_of_the_entries_it_drops(
    tmp_path: Path, clock: FakeClock, retention: timedelta | int
) -> None:
    path = tmp_path / "outbox.db"
    box = SqliteOutbox(path, capacity=1000, retention=retention, clock=clock)
    try:
        for _ in range(4):
            box.append(new_id(), "insight", records(new_id(), 2))
        box.mark_sent([entry.entry_id for entry in box.claim(1000, 60)])
        clock.now += 60
        box.append(new_id(), "insight", records(new_id(), 1))
        box.prune()
    finally:
        box.close()
    with sqlite3.connect(path) as conn:
        batches = {row[0] for row in conn.execute("SELECT seq FROM batches")}
        payloads = {row[0] for row in conn.execute("SELECT seq FROM payloads")}
    assert payloads == batches
    assert len(batches) < 5  # something was pruned
