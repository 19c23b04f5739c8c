"""OutboxRelay over a real SqliteOutbox.

The queue here is a fake (``RecordingSender``) because these tests need to fail
exactly the n-th send; tests/integration/test_relay_azurite.py drives the real
queue (Azurite), including a real outage.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from support.waiting import wait_until

from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.ports import OutboxUnavailable, QueueUnavailable
from edgeloop.service_layer.relay import OutboxRelay, RelayStats, backoff_delay
from edgeloop.wire.packing import unpack_message


class RecordingSender:
    """Keeps every body; raises the queued-up failures first, one per send."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.failures: list[Exception] = []
        self.lock = threading.Lock()

    def send(self, body: bytes) -> None:
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.bodies.append(body)

    def delivered(self) -> list[dict[str, object]]:
        with self.lock:
            return [record for body in self.bodies for record in unpack_message(body)]


def insight_records(entry_id: str, count: int, pad: int = 0) -> list[bytes]:
    # ``pad`` of random text makes records that gzip cannot shrink, to force several messages.
    return [
        orjson.dumps({"insight_id": f"{entry_id}-{i:05d}", "pad": random.randbytes(pad).hex()})
        for i in range(count)
    ]


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SqliteOutbox]:
    box = SqliteOutbox(tmp_path / "outbox.db", capacity=100_000)
    yield box
    box.close()


def fill(outbox: SqliteOutbox, entries: int, per_entry: int, pad: int = 0) -> list[bytes]:
    appended: list[bytes] = []
    for _ in range(entries):
        entry_id = uuid.uuid4().hex
        records = insight_records(entry_id, per_entry, pad)
        outbox.append(entry_id, "insight", records)
        appended.extend(records)
    return appended


def test_run_once_delivers_every_record_in_order_and_acknowledges(outbox: SqliteOutbox) -> None:
    appended = fill(outbox, entries=3, per_entry=50)
    sender = RecordingSender()
    relay = OutboxRelay(outbox, sender)

    assert relay.run_once() == 150

    assert sender.delivered() == [orjson.loads(r) for r in appended]
    assert outbox.depth() == 0
    assert (relay.stats.sent_records, relay.stats.sent_messages) == (150, len(sender.bodies))
    assert relay.run_once() == 0


def test_many_small_entries_share_one_message(outbox: SqliteOutbox) -> None:
    fill(outbox, entries=200, per_entry=3)
    sender = RecordingSender()
    assert OutboxRelay(outbox, sender).run_once() == 600
    assert len(sender.bodies) == 1


def test_run_once_stays_near_the_claim_limit(outbox: SqliteOutbox) -> None:
    fill(outbox, entries=10, per_entry=100)
    relay = OutboxRelay(outbox, RecordingSender(), claim_limit=250)
    assert relay.run_once() == 300  # whole entries, until at least the limit
    assert outbox.depth() == 700


def test_failure_mid_run_marks_only_fully_acknowledged_entries(outbox: SqliteOutbox) -> None:
    # 2,000 hex characters of random text per record: about 45 records per message, 6 messages.
    appended = fill(outbox, entries=6, per_entry=40, pad=1000)
    recorder = RecordingSender()
    relay = OutboxRelay(outbox, SenderFailingAfter(recorder, successes=3), max_in_flight=1)

    with pytest.raises(QueueUnavailable):
        relay.run_once()

    delivered_first = len(recorder.delivered())
    assert 0 < delivered_first < 240
    whole_entries_sent = delivered_first // 40  # records go out in append order
    assert outbox.depth() == 240 - whole_entries_sent * 40
    # The rest was given back at once (no waiting for the lease) and goes out next time.
    assert relay.run_once() == 240 - whole_entries_sent * 40
    assert outbox.depth() == 0
    delivered = [record["insight_id"] for record in recorder.delivered()]
    expected = [orjson.loads(r)["insight_id"] for r in appended]
    assert set(delivered) == set(expected)  # nothing missing
    assert len(delivered) - len(expected) == delivered_first - whole_entries_sent * 40  # only resends


class SenderFailingMessage:
    """Fails, once, the one message that holds ``insight_id``; keeps the others (from any thread)."""

    def __init__(self, inner: RecordingSender, insight_id: str) -> None:
        self.inner = inner
        self.insight_id = insight_id
        self.failed = threading.Event()
        self.threads: set[str] = set()

    def send(self, body: bytes) -> None:
        self.threads.add(threading.current_thread().name)
        held = {record["insight_id"] for record in unpack_message(body)}
        if self.insight_id in held and not self.failed.is_set():
            self.failed.set()
            raise QueueUnavailable("this message was refused")
        self.inner.send(body)


def test_messages_in_flight_together_settle_each_entry_by_its_own_messages(outbox: SqliteOutbox) -> None:
    appended = fill(outbox, entries=6, per_entry=40, pad=1000)  # about 6 messages
    ids = [orjson.loads(r)["insight_id"] for r in appended]
    recorder = RecordingSender()
    failing = SenderFailingMessage(recorder, ids[100])  # a record of the third entry
    relay = OutboxRelay(outbox, failing, max_in_flight=4)

    with pytest.raises(QueueUnavailable):
        relay.run_once()

    assert len(failing.threads) > 1  # really sent from several threads
    delivered = {record["insight_id"] for record in recorder.delivered()}
    entries = [set(ids[start : start + 40]) for start in range(0, 240, 40)]
    acknowledged = [entry <= delivered for entry in entries]
    assert acknowledged[2] is False
    # Exactly the entries the queue fully has are marked sent; the rest were given back.
    assert outbox.depth() == 40 * acknowledged.count(False)
    assert relay.run_once() == 40 * acknowledged.count(False)
    assert outbox.depth() == 0
    assert {record["insight_id"] for record in recorder.delivered()} == set(ids)
    relay.close()


def test_max_in_flight_must_be_positive(outbox: SqliteOutbox) -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        OutboxRelay(outbox, RecordingSender(), max_in_flight=0)


class SenderFailingAfter:
    """Delegates ``successes`` sends, then raises QueueUnavailable once."""

    def __init__(self, inner: RecordingSender, successes: int) -> None:
        self.inner = inner
        self.left = successes
        self.failed = False

    def send(self, body: bytes) -> None:
        if self.left == 0 and not self.failed:
            self.failed = True
            raise QueueUnavailable("uplink down")
        self.left -= 1
        self.inner.bodies.append(body)


def test_entries_leased_by_a_relay_that_died_wait_only_until_the_lease_expires(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    dead = SqliteOutbox(tmp_path / "shared.db", capacity=100, clock=lambda: now[0])
    live = SqliteOutbox(tmp_path / "shared.db", capacity=100, clock=lambda: now[0])
    appended = fill(dead, entries=2, per_entry=5)
    assert len(dead.claim(100, lease_seconds=60)) == 2  # ... and then its process was killed
    sender = RecordingSender()
    relay = OutboxRelay(live, sender, lease_seconds=60)

    assert relay.run_once() == 0
    now[0] += 61
    assert relay.run_once() == 10

    assert sender.delivered() == [orjson.loads(r) for r in appended]
    assert live.depth() == 0
    dead.close()
    live.close()


def test_loop_backs_off_counts_errors_then_drains(outbox: SqliteOutbox) -> None:
    appended = fill(outbox, entries=4, per_entry=10)
    sender = RecordingSender()
    sender.failures = [QueueUnavailable("down") for _ in range(3)]
    seen: list[Exception] = []
    relay = OutboxRelay(outbox, sender, on_error=seen.append)

    runner = relay.start(idle_wait=0.05, initial_backoff=0.01, max_backoff=0.05)
    try:
        wait_until(lambda: outbox.depth() == 0, 20, "the outbox to drain")
    finally:
        runner.stop(timeout=10)

    assert relay.stats.errors == 3
    assert len(seen) == 3
    assert all(isinstance(error, QueueUnavailable) for error in seen)
    assert relay.stats.consecutive_errors == 0
    assert relay.stats.last_success_at is not None
    assert sender.delivered() == [orjson.loads(r) for r in appended]


class SwitchableQueue(RecordingSender):
    """A queue that is down while ``down`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.down = threading.Event()

    def send(self, body: bytes) -> None:
        if self.down.is_set():
            raise QueueUnavailable("uplink down")
        super().send(body)


def test_the_last_error_is_shown_during_an_outage_and_cleared_once_a_send_succeeds(
    outbox: SqliteOutbox,
) -> None:
    queue = SwitchableQueue()
    queue.down.set()
    relay = OutboxRelay(outbox, queue)
    runner = relay.start(idle_wait=0.05, initial_backoff=0.01, max_backoff=0.05)
    try:
        fill(outbox, entries=1, per_entry=5)
        relay.wake()
        wait_until(lambda: relay.stats.consecutive_errors >= 2, 20, "failed attempts to be counted")
        assert relay.stats.last_error == "QueueUnavailable: uplink down"

        queue.down.clear()
        wait_until(lambda: outbox.depth() == 0, 20, "the outbox to drain")
        wait_until(lambda: relay.stats.consecutive_errors == 0, 20, "the success to be counted")
    finally:
        runner.stop(timeout=10)
    assert relay.stats.last_error == ""
    assert relay.stats.errors >= 2
    assert len(queue.delivered()) == 5


def test_a_locked_outbox_is_waited_out_like_a_queue_outage(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    writer = SqliteOutbox(path, capacity=100)
    appended = fill(writer, entries=2, per_entry=5)
    outbox = SqliteOutbox(path, capacity=100, busy_timeout=0.05)
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # holds the write lock: claiming fails
    sender = RecordingSender()
    seen: list[Exception] = []
    relay = OutboxRelay(outbox, sender, on_error=seen.append)
    runner = relay.start(idle_wait=0.05, initial_backoff=0.01, max_backoff=0.05)
    try:
        wait_until(lambda: relay.stats.errors >= 2, 20, "failed attempts to be counted")
        assert runner.is_alive()
        other_process.execute("ROLLBACK")
        wait_until(lambda: writer.depth() == 0, 20, "the outbox to drain")
    finally:
        runner.stop(timeout=10)
        other_process.close()
    assert all(isinstance(error, OutboxUnavailable) for error in seen)
    assert sender.delivered() == [orjson.loads(r) for r in appended]
    writer.close()
    outbox.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # it raises, on purpose
def test_loop_stops_on_an_unexpected_error_and_gives_entries_back(outbox: SqliteOutbox) -> None:
    fill(outbox, entries=2, per_entry=5)
    sender = RecordingSender()
    sender.failures = [TypeError("a bug")]
    relay = OutboxRelay(outbox, sender, stats=RelayStats())

    runner = relay.start(idle_wait=0.05)
    wait_until(lambda: not runner.is_alive(), 20, "the relay thread to stop")

    assert relay.stats.stopped_by == "TypeError: a bug"
    assert relay.stats.errors == 1
    assert outbox.depth() == 10
    assert len(outbox.claim(100, 60)) == 2  # released, not stuck behind a lease


def test_stop_ends_an_idle_wait_promptly(outbox: SqliteOutbox) -> None:
    relay = OutboxRelay(outbox, RecordingSender())
    runner = relay.start(idle_wait=600)
    wait_until(lambda: relay.stats.last_success_at is not None, 20, "a successful send")
    started = time.monotonic()
    runner.stop(timeout=10)
    assert time.monotonic() - started < 5
    assert not runner.is_alive()


def test_wake_sends_without_waiting_for_the_idle_period(outbox: SqliteOutbox) -> None:
    sender = RecordingSender()
    relay = OutboxRelay(outbox, sender)
    runner = relay.start(idle_wait=600)
    try:
        wait_until(lambda: relay.stats.last_success_at is not None, 20, "a successful send")
        fill(outbox, entries=1, per_entry=5)
        relay.wake()
        wait_until(lambda: outbox.depth() == 0, 10, "the outbox to drain")
    finally:
        runner.stop(timeout=10)
    assert len(sender.delivered()) == 5


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(7)
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    for failures, ceiling in enumerate(ceilings, start=1):
        delay = backoff_delay(failures, initial=0.5, cap=10.0, rng=rng)
        assert ceiling / 2 <= delay <= ceiling


def test_claim_limit_must_be_positive(outbox: SqliteOutbox) -> None:
    with pytest.raises(ValueError, match="claim_limit"):
        OutboxRelay(outbox, RecordingSender(), claim_limit=0)
