"""Outbox -> relay -> Azure Storage Queue, end to end on real SQLite and real Azurite."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient
from fastapi.testclient import TestClient
from pydantic import SecretStr
from support.bundles import demo_bundle, valid_rows
from support.waiting import wait_until

from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.config.scoring import ScoringSettings
from edgeloop.domain.manifest import load_manifest
from edgeloop.domain.records import InsightRecord, ModelRef, record_from_wire
from edgeloop.ports import QueueUnavailable
from edgeloop.service_layer.relay import OutboxRelay
from edgeloop.wire.packing import unpack_message
from localdev.azurite import Azurite
from scoring_app import create_app

CHILD = Path(__file__).with_name("outbox_child.py")
MODEL = ModelRef(name="demo", version="1.0.0", sha256="0" * 64)
API_KEY = "relay-test-key-0123456789"


def queue_name() -> str:
    return f"relay-{uuid.uuid4().hex[:16]}"


def insight_records(entry_id: str, count: int) -> list[bytes]:
    rng = random.Random(entry_id)
    return [
        orjson.dumps(
            InsightRecord(
                insight_id=f"{entry_id}-{index:05d}",
                site_id="site-test",
                scored_at=datetime.now(UTC),
                model=MODEL,
                inputs={"air_temperature": rng.uniform(295, 305), "torque": rng.uniform(3, 77), "type": "M"},
                outputs={"risk": rng.random()},
                anomaly=False,
                anomaly_kinds=(),
            ).to_wire()
        )
        for index in range(count)
    ]


def append_entries(outbox: SqliteOutbox, sizes: list[int]) -> dict[str, list[bytes]]:
    appended: dict[str, list[bytes]] = {}
    for size in sizes:
        entry_id = uuid.uuid4().hex
        appended[entry_id] = insight_records(entry_id, size)
        outbox.append(entry_id, "insight", appended[entry_id])
    return appended


def drain_queue(conn: str, name: str) -> list[list[Any]]:
    """The records of every message on the queue, one list per message (messages deleted)."""
    client = QueueClient.from_connection_string(conn, name, message_decode_policy=BinaryBase64DecodePolicy())
    messages: list[list[Any]] = []
    for _ in range(1000):  # bounded: far more pages than any test sends
        page = list(client.receive_messages(messages_per_page=32, max_messages=32, visibility_timeout=300))
        if not page:
            break
        for message in page:
            messages.append(unpack_message(message.content))
            client.delete_message(message)
    client.close()
    return messages


def test_records_arrive_once_valid_and_in_append_order_within_each_message(
    azurite: Azurite, tmp_path: Path
) -> None:
    conn, name = azurite.connection_string("edge"), queue_name()
    outbox = SqliteOutbox(tmp_path / "outbox.db", capacity=100_000)
    appended = append_entries(outbox, [1, 250, 3, 1000, 40, 7, 600])
    sender = StorageQueueSender(conn, name)
    relay = OutboxRelay(outbox, sender, claim_limit=5000)

    assert relay.run_once() == sum(len(records) for records in appended.values())

    messages = drain_queue(conn, name)
    assert len(messages) == relay.stats.sent_messages > 1
    expected = [r for records in appended.values() for r in records]
    received = [record for message in messages for record in message]
    assert sorted(orjson.dumps(record) for record in received) == sorted(expected)  # each exactly once
    # Messages are sent several at once and may land in any order (a queue keeps none), but
    # each holds a run of records in append order.
    for message in messages:
        run = [orjson.dumps(record) for record in message]
        start = expected.index(run[0])
        assert expected[start : start + len(run)] == run
    assert all(record_from_wire(record).kind == "insight" for record in received)
    assert outbox.depth() == 0
    sender.close()
    outbox.close()


def test_many_small_entries_share_few_messages(azurite: Azurite, tmp_path: Path) -> None:
    conn, name = azurite.connection_string("edge"), queue_name()
    outbox = SqliteOutbox(tmp_path / "outbox.db", capacity=100_000)
    appended = append_entries(outbox, [2] * 300)
    sender = StorageQueueSender(conn, name)

    OutboxRelay(outbox, sender).run_once()

    messages = drain_queue(conn, name)
    assert len(messages) <= 2  # 600 records from 300 requests
    ids = [record["insight_id"] for message in messages for record in message]
    assert ids == [f"{entry_id}-{i:05d}" for entry_id in appended for i in range(2)]
    sender.close()
    outbox.close()


@pytest.mark.slow
def test_outage_keeps_the_backlog_and_drains_when_the_queue_returns(
    fresh_azurite: Azurite, tmp_path: Path
) -> None:
    conn, name = fresh_azurite.connection_string("edge"), queue_name()
    outbox = SqliteOutbox(tmp_path / "outbox.db", capacity=100_000)
    sender = StorageQueueSender(conn, name, timeout=2)
    errors: list[Exception] = []
    relay = OutboxRelay(outbox, sender, claim_limit=500, on_error=errors.append)
    runner = relay.start(idle_wait=0.05, initial_backoff=0.05, max_backoff=0.5)
    try:
        before = append_entries(outbox, [100, 5])
        relay.wake()
        wait_until(lambda: outbox.depth() == 0, 30, "the first records to be sent")
        delivered = [r for m in drain_queue(conn, name) for r in m]

        fresh_azurite.stop()
        during = append_entries(outbox, [300, 1, 700, 20])
        relay.wake()
        wait_until(lambda: relay.stats.errors >= 3, 60, "failed attempts to be counted")
        assert outbox.depth() == 1021  # nothing lost, nothing marked sent
        assert relay.stats.consecutive_errors >= 3
        assert runner.is_alive()

        fresh_azurite.start()  # same ports, same location
        wait_until(lambda: outbox.depth() == 0, 120, "the backlog to drain")
    finally:
        runner.stop(timeout=30)
    delivered += [r for m in drain_queue(conn, name) for r in m]

    expected = [orjson.loads(r)["insight_id"] for records in (before | during).values() for r in records]
    counts = Counter(record["insight_id"] for record in delivered)
    assert set(counts) == set(expected)  # every record, none missing
    assert relay.stats.consecutive_errors == 0
    assert errors
    assert all(isinstance(error, QueueUnavailable) for error in errors)
    sender.close()
    outbox.close()


@pytest.mark.slow
def test_readyz_shows_a_relay_outage_only_while_it_lasts(fresh_azurite: Azurite, tmp_path: Path) -> None:
    bundle = demo_bundle(tmp_path / "bundle")
    settings = ScoringSettings(
        model_dir=bundle,
        outbox_path=tmp_path / "outbox.sqlite3",
        api_key=API_KEY,
        api_key_file=tmp_path / "api-key",
        site_id="site-test",
        relay_enabled=True,
        edge_storage=SecretStr(fresh_azurite.connection_string("edge")),
        insights_queue=queue_name(),
    )
    rows = valid_rows(load_manifest(bundle), 3, seed=5)
    with TestClient(create_app(settings)) as client:
        outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]

        def score() -> None:
            response = client.post("/api/v1/score", json={"rows": rows}, headers={"X-API-Key": API_KEY})
            assert response.status_code == 200

        def relay_status() -> dict[str, Any]:
            response = client.get("/readyz")
            assert response.status_code == 200  # the relay is informational: scoring goes on
            status: dict[str, Any] = response.json()["checks"]["relay"]
            return status

        score()
        wait_until(lambda: outbox.depth() == 0, 30, "the first insights to be sent")
        assert relay_status()["last_error"] == ""

        fresh_azurite.stop()
        score()
        wait_until(lambda: relay_status()["last_error"] != "", 60, "the outage to show on /readyz")
        assert "unreachable" in relay_status()["last_error"]
        assert relay_status()["consecutive_errors"] >= 1

        fresh_azurite.start()  # same ports, same location
        wait_until(lambda: outbox.depth() == 0, 120, "the backlog to drain")
        wait_until(lambda: relay_status()["consecutive_errors"] == 0, 30, "the success to be counted")
        assert relay_status()["last_error"] == ""


@pytest.mark.slow
def test_two_relay_processes_on_one_outbox_do_not_double_send(azurite: Azurite, tmp_path: Path) -> None:
    conn, name = azurite.connection_string("edge"), queue_name()
    path = tmp_path / "outbox.db"
    outbox = SqliteOutbox(path, capacity=100_000)
    appended = append_entries(outbox, [25] * 120)
    relays = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "relay", str(path), conn, name, "150", "120"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        sent_by = [int(child.communicate(timeout=180)[0].strip()) for child in relays]
    finally:
        for child in relays:
            if child.poll() is None:
                child.kill()

    assert outbox.depth() == 0
    assert sum(sent_by) == 3000
    ids = [record["insight_id"] for message in drain_queue(conn, name) for record in message]
    assert len(ids) == 3000
    assert Counter(ids) == Counter(f"{entry_id}-{i:05d}" for entry_id in appended for i in range(25))
    outbox.close()


def test_concurrent_relays_in_threads_share_the_work(azurite: Azurite, tmp_path: Path) -> None:
    """Two relays (separate outbox handles, as in two workers) drain one file without duplicates."""
    conn, name = azurite.connection_string("edge"), queue_name()
    path = tmp_path / "outbox.db"
    writer = SqliteOutbox(path, capacity=100_000)
    appended = append_entries(writer, [10] * 100)
    handles = [SqliteOutbox(path, capacity=1) for _ in range(2)]
    senders = [StorageQueueSender(conn, name) for _ in range(2)]
    relays = [
        OutboxRelay(handle, sender, claim_limit=50) for handle, sender in zip(handles, senders, strict=True)
    ]
    barrier = threading.Barrier(2)

    def drain(relay: OutboxRelay) -> None:
        barrier.wait(10)
        for _ in range(200):  # bounded; each round claims about 50 records
            if relay.run_once() == 0 and writer.depth() == 0:
                return

    threads = [threading.Thread(target=drain, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)

    ids = [record["insight_id"] for message in drain_queue(conn, name) for record in message]
    assert sorted(ids) == sorted(f"{entry_id}-{i:05d}" for entry_id in appended for i in range(10))
    assert sum(relay.stats.sent_records for relay in relays) == 1000
    for handle in [*handles, writer]:
        handle.close()
    for sender in senders:
        sender.close()
