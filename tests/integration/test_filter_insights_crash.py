"""filter_insights survives kill -9 mid-batch: after a restart the blobs are exact, nothing twice.

The real root function app (``--role edge``) runs under the local Functions host
against Azurite (see support.edge_host). The host is SIGKILLed while it works
through a backlog of packed messages; messages it had leased reappear after a
short lease (EDGELOOP_HOST_MESSAGE_LEASE_SECONDS) and run again on the restarted
host. Blob names derive from the message body, so a rerun overwrites rather than
duplicates: the final blob set and record counts must be exactly what was sent.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections import Counter
from typing import Any

import orjson
import pytest
from support.edge_host import EdgeHost, queue_texts
from support.function_apps.host_harness import HostProcess, wait_until

from edgeloop.service_layer.filtering import message_digest
from edgeloop.wire.packing import pack_items

MESSAGES = 40
RECORDS_PER_MESSAGE = 200
LEASE = {"EDGELOOP_HOST_MESSAGE_LEASE_SECONDS": "2"}  # killed in-flight messages reappear after 2 s


def insight(site: str, batch: int, row: int) -> dict[str, Any]:
    # Each message spans two hours (two partitions); only every third message has anomalies.
    hour = 6 + batch % 12 + (1 if row >= RECORDS_PER_MESSAGE // 2 else 0)
    anomalous = batch % 3 == 0 and row % 40 == 7
    return {
        "kind": "insight",
        "schema_version": 1,
        "insight_id": f"{batch:08x}-{row:05d}-{uuid.uuid4().hex[:8]}",
        "site_id": site,
        "scored_at": f"2026-11-22T{hour:02d}:{row % 60:02d}:{batch % 60:02d}.000000Z",
        "model": {"name": "ai4i", "version": "1.0.0", "sha256": "cd" * 32},
        "inputs": {"type": "M", "torque_nm": 40.0 + row % 5},
        "outputs": {"failure_probability": 0.9 if anomalous else 0.1},
        "anomaly": anomalous,
        "anomaly_kinds": ["risk"] if anomalous else [],
        "context": {"product_id": f"M{batch}-{row}", "operator": "Operator Jones"},
    }


def packed(records: list[dict[str, Any]]) -> bytes:
    (body, count), *rest = pack_items([orjson.dumps(r) for r in records])
    assert (count, rest) == (len(records), [])
    return body


def expected_blobs(
    site: str, body: bytes, records: list[dict[str, Any]]
) -> tuple[Counter[str], Counter[str]]:
    """Record counts per blob name, compliant and anomalies, derived from the records as sent."""
    compliant: Counter[str] = Counter()
    anomalies: Counter[str] = Counter()
    for record in records:
        date, hour = record["scored_at"][:10], record["scored_at"][11:13]
        name = f"site={site}/date={date}/hour={hour}/{message_digest(body)}.jsonl.gz"
        compliant[name] += 1
        if record["anomaly"]:
            anomalies[name] += 1
    return compliant, anomalies


def kill_process_group(host: HostProcess) -> None:
    """kill -9 the host and anything it started (it runs in its own session)."""
    if host.process.poll() is None:
        os.killpg(host.process.pid, signal.SIGKILL)
    host.process.wait(10)


def queue_length(edge_host: EdgeHost) -> int:
    """Messages in the insights queue, visible or not (leased ones count)."""
    return int(edge_host.sender.get_queue_properties().approximate_message_count)


@pytest.mark.slow
def test_kill_9_mid_batch_then_restart_writes_every_blob_exactly_once(edge_host: EdgeHost) -> None:
    site = f"site-{uuid.uuid4().hex[:8]}"
    batches = [[insight(site, batch, row) for row in range(RECORDS_PER_MESSAGE)] for batch in range(MESSAGES)]
    expected_compliant: Counter[str] = Counter()
    expected_anomalies: Counter[str] = Counter()
    for records in batches:
        body = packed(records)
        compliant, anomalies = expected_blobs(site, body, records)
        expected_compliant += compliant
        expected_anomalies += anomalies
        edge_host.sender.send_message(body)
    assert len(expected_compliant) == 2 * MESSAGES  # sanity: one blob per message per hour
    assert 0 < len(expected_anomalies) < len(expected_compliant)

    host = edge_host.start(new_session=True, **LEASE)
    try:
        wait_until(
            lambda: len(edge_host.names("compliant", site)) >= MESSAGES // 2,
            45,
            "a quarter of the blobs",
            host,
        )
    finally:
        kill_process_group(host)
    written_before_kill = len(edge_host.names("compliant", site))
    assert written_before_kill < len(expected_compliant), (
        "the host finished before the kill: test proves nothing"
    )
    assert queue_length(edge_host) > 0

    host = edge_host.start(new_session=True, **LEASE)
    try:
        wait_until(
            lambda: (
                set(edge_host.names("compliant", site)) == set(expected_compliant)
                and queue_length(edge_host) == 0
            ),
            45,
            "every compliant blob and an empty insights queue (no message left invisible)",
            host,
        )
        assert host.stop() == 0, host.output()
    finally:
        kill_process_group(host)
    # Messages leased by the killed host ran again: the kill really landed mid-batch.
    assert "dequeue_count=2" in host.output()

    compliant_names = edge_host.names("compliant", site)
    assert set(compliant_names) == set(expected_compliant)
    compliant_records = {name: edge_host.lines("compliant", name) for name in compliant_names}
    assert {name: len(records) for name, records in compliant_records.items()} == dict(expected_compliant)
    compliant_ids = [r["insight_id"] for records in compliant_records.values() for r in records]
    assert len(compliant_ids) == MESSAGES * RECORDS_PER_MESSAGE
    assert len(set(compliant_ids)) == len(compliant_ids)
    assert set(compliant_ids) == {r["insight_id"] for records in batches for r in records}

    anomaly_names = edge_host.names("anomalies", site)
    assert set(anomaly_names) == set(expected_anomalies)
    anomaly_records = {name: edge_host.lines("anomalies", name) for name in anomaly_names}
    assert {name: len(records) for name, records in anomaly_records.items()} == dict(expected_anomalies)
    anomaly_ids = [r["insight_id"] for records in anomaly_records.values() for r in records]
    assert len(set(anomaly_ids)) == len(anomaly_ids) == sum(expected_anomalies.values())
    assert all(r["anomaly"] is True for records in anomaly_records.values() for r in records)

    assert queue_texts(edge_host.edge, f"{edge_host.queue}-poison") == []
