"""Test app: a sync and an async queue-triggered function driven by the message body.

Body (JSON): ``{"id": str, "sleep": seconds, "fail_until": n}`` fails while the
dequeue count is below ``n`` (``fail_until`` 0 never fails, a large one always).
Non-JSON bodies are just recorded (base64 of the bytes). Each success writes the
idempotent marker blob ``<TEST_MARKER_CONTAINER>/<id>``.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import time
from typing import Any

import azure.functions as func
from azure.storage.blob import ContainerClient

app = func.FunctionApp()


def record(**fields: Any) -> None:
    """Append one JSON line to the file ``TEST_RECORD_FILE`` names (what the tests read)."""
    line = json.dumps({"t": time.time(), **fields}, default=str) + "\n"
    with open(os.environ["TEST_RECORD_FILE"], "a", encoding="utf-8") as out:
        out.write(line)


@functools.cache
def markers() -> ContainerClient:
    # Built on first use (not at import), once per process.
    connection, container = os.environ["TEST_STORAGE"], os.environ["TEST_MARKER_CONTAINER"]
    return ContainerClient.from_connection_string(connection, container)


def _command(msg: func.QueueMessage) -> dict[str, object]:
    body = msg.get_body()
    try:
        command = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        command = None
    return command if isinstance(command, dict) else {"raw_b64": base64.b64encode(body).decode()}


def _finish(fn: str, msg: func.QueueMessage, command: dict[str, object], started: float) -> None:
    failing = int(str(command.get("fail_until", 0))) > (msg.dequeue_count or 0)
    record(
        fn=fn, id=command.get("id"), raw_b64=command.get("raw_b64"), message_id=msg.id,
        dequeue_count=msg.dequeue_count, start=started, end=time.time(), failed=failing,
    )  # fmt: skip
    if failing:
        raise RuntimeError(f"asked to fail attempt {msg.dequeue_count}")
    if command.get("id") and os.environ.get("TEST_MARKER_CONTAINER"):
        markers().upload_blob(str(command["id"]), b"done", overwrite=True)


@app.queue_trigger(arg_name="msg", queue_name="%TEST_QUEUE%", connection="TEST_STORAGE")
def work(msg: func.QueueMessage) -> None:
    started = time.time()
    command = _command(msg)
    time.sleep(float(str(command.get("sleep", 0))))
    _finish("work", msg, command, started)


@app.queue_trigger(arg_name="msg", queue_name="%TEST_QUEUE%-async", connection="TEST_STORAGE")
async def work_async(msg: func.QueueMessage) -> None:
    started = time.time()
    command = _command(msg)
    await asyncio.sleep(float(str(command.get("sleep", 0))))
    _finish("work_async", msg, command, started)
