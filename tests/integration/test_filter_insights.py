"""filter_insights end to end: the root function app under the local Functions host, on Azurite.

Messages are packed with the real packing code and put on the edge insights
queue; ``python -m localdev.functions_host --role edge`` runs function_app.py
as a child process with the project's host.json (polling and retry delay
shortened so the test takes seconds, maxDequeueCount kept).
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import orjson
import pytest
from azure.storage.queue import QueueClient
from support.edge_host import HOST_JSON, EdgeHost, queue_texts
from support.function_apps.host_harness import wait_until

from edgeloop.service_layer.filtering import message_digest
from edgeloop.wire.packing import pack_items

MAX_DEQUEUE = HOST_JSON["extensions"]["queues"]["maxDequeueCount"]


def insight(site: str, batch: int, row: int, hour: int) -> dict[str, Any]:
    return {
        "kind": "insight",
        "schema_version": 1,
        "insight_id": f"{batch:032x}-{row:05d}",
        "site_id": site,
        "scored_at": f"2026-11-21T{hour:02d}:{row % 60:02d}:00.000000Z",
        "model": {"name": "ai4i", "version": "1.0.0", "sha256": "ab" * 32},
        "inputs": {"type": "L", "torque_nm": 30.0 + row % 7},
        "outputs": {"failure_probability": 0.95 if row % 10 == 0 else 0.05},
        "anomaly": row % 10 == 0,
        "anomaly_kinds": ["risk"] if row % 10 == 0 else [],
        "context": {"product_id": f"L{row}", "operator": "Operator Smith", "notes": "keep on site"},
    }


def packed(records: list[dict[str, Any]]) -> bytes:
    (body, count), *rest = pack_items([orjson.dumps(r) for r in records])
    assert (count, rest) == (len(records), [])
    return body


@pytest.mark.slow
def test_packed_messages_become_compliant_blobs_events_quarantine_and_poison(edge_host: EdgeHost) -> None:
    site = f"site-{uuid.uuid4().hex[:8]}"
    good = [packed([insight(site, batch, row, hour=8 + batch) for row in range(300)]) for batch in range(3)]
    with_invalid = [insight(site, 7, row, hour=12) for row in range(20)]
    del with_invalid[5]["outputs"]
    mixed = packed(with_invalid)
    not_gzip = b"this is not gzip"
    for body in (good[0], not_gzip, good[1], mixed, good[2]):
        edge_host.sender.send_message(body)
    # Not base64 at all: the host cannot decode it (its job, not the function's).
    QueueClient.from_connection_string(edge_host.edge, edge_host.queue).send_message("%% not base64 %%")

    host = edge_host.start()
    try:
        poison = f"{edge_host.queue}-poison"
        wait_until(
            lambda: (
                len(edge_host.names("compliant", site)) == 4 and len(queue_texts(edge_host.edge, poison)) == 2
            ),
            timeout=120,
            what="four compliant blobs and two poison messages",
            host=host,
        )
        wait_until(
            lambda: queue_texts(edge_host.edge, edge_host.queue) == [], 30, "an empty insights queue", host
        )
    finally:
        assert host.stop() == 0, host.output()

    expected = {
        f"site={site}/date=2026-11-21/hour={8 + batch:02d}/{message_digest(body)}.jsonl.gz": 300
        for batch, body in enumerate(good)
    }
    expected[f"site={site}/date=2026-11-21/hour=12/{message_digest(mixed)}.jsonl.gz"] = 19
    assert set(edge_host.names("compliant", site)) == set(expected)
    for name, count in expected.items():
        records = edge_host.lines("compliant", name)
        assert len(records) == count
        assert all(set(r["context"]) == {"product_id"} for r in records)
        assert b"Operator Smith" not in orjson.dumps(records)
    anomalies = edge_host.names("anomalies", site)
    assert set(anomalies) == set(expected)
    assert sum(len(edge_host.lines("anomalies", name)) for name in anomalies) == 3 * 30 + 2  # every tenth row

    expected_ids = sorted([f"compliant/{n}" for n in expected] + [f"anomalies/{n}" for n in expected])
    for subscription in ("global", "powerbi"):
        events = edge_host.events(subscription)
        assert sorted(e["message_id"] for e in events) == expected_ids
        assert {e["subject"] for e in events} == {"compliant", "anomalies"}

    quarantine = edge_host.edge_blobs.get("quarantine", f"{message_digest(mixed)}.jsonl").splitlines()
    assert [(q["index"], q["reason"], q["field"]) for q in map(json.loads, quarantine)] == [
        (5, "invalid", "outputs")
    ]
    assert not [n for n in edge_host.edge_blobs.list_names("quarantine") if message_digest(not_gzip) in n]

    poisoned = [base64.b64decode(t) for t in queue_texts(edge_host.edge, poison) if t != "%% not base64 %%"]
    assert poisoned == [not_gzip]
    # Tried maxDequeueCount times (the function raised each time), then poisoned; the others ran once.
    assert host.output().count("PackError: not gzip data") == MAX_DEQUEUE
    assert f"dequeue_count={MAX_DEQUEUE} reason=MaxDequeueCountExceeded" in host.output()
    assert host.output().count("outcome=Succeeded") == len(good) + 1
