"""Child processes for the outbox tests (run as a script, never imported by pytest).

outbox_child.py append OUTBOX CAPACITY RECORDS_PER_ENTRY
    append entries until killed or the outbox is full; print each entry id
    once its append has returned, then "full" when OutboxFull stops it.
outbox_child.py relay OUTBOX CONNECTION_STRING QUEUE CLAIM_LIMIT DEADLINE_SECONDS
    relay until the outbox is empty; print the records this process sent.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from pathlib import Path

import orjson

from edgeloop.adapters.sqlite_outbox import SqliteOutbox, Synchronous
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.ports import OutboxFull
from edgeloop.service_layer.relay import OutboxRelay


def entry_records(entry_id: str, count: int) -> list[bytes]:
    return [orjson.dumps({"insight_id": f"{entry_id}-{i:05d}", "risk": i / count}) for i in range(count)]


def append(path: Path, capacity: int, per_entry: int, synchronous: Synchronous) -> None:
    outbox = SqliteOutbox(path, capacity, synchronous=synchronous)
    while True:
        entry_id = uuid.uuid4().hex
        try:
            outbox.append(entry_id, "insight", entry_records(entry_id, per_entry))
        except OutboxFull:
            print("full", flush=True)
            return
        print(entry_id, flush=True)


def relay(path: Path, connection_string: str, queue: str, claim_limit: int, deadline_seconds: float) -> None:
    outbox = SqliteOutbox(path, capacity=1)  # capacity only limits appends
    sender = StorageQueueSender(connection_string, queue)
    relay = OutboxRelay(outbox, sender, claim_limit=claim_limit)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run_forever, args=(stop,), kwargs={"idle_wait": 0.02})
    runner.start()
    deadline = time.monotonic() + deadline_seconds
    while outbox.depth() > 0 and time.monotonic() < deadline:
        time.sleep(0.02)  # polling the other process's progress; bounded by the deadline
    stop.set()
    relay.wake()
    runner.join(30)
    print(relay.stats.sent_records, flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "append":
        synchronous: Synchronous = "NORMAL" if args[3:] == ["NORMAL"] else "FULL"
        append(Path(args[0]), int(args[1]), int(args[2]), synchronous)
    elif command == "relay":
        relay(Path(args[0]), args[1], args[2], int(args[3]), float(args[4]))
    else:
        raise SystemExit(f"unknown command {command!r}")
