"""A cloud outage poisons insights under the real local Functions host; after it, ``edgeloop ops
replay`` puts them back and the same host turns them into compliant blobs.

The outage is a wrong cloud account key (every cloud write is refused at once, so the host runs
its ``maxDequeueCount`` attempts quickly); Azurite, the host and the function app are real.
"""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest
from support.edge_host import EdgeHost, queue_texts
from support.function_apps.host_harness import wait_until
from typer.testing import CliRunner

from edgeloop.cli.main import app
from edgeloop.service_layer.filtering import message_digest
from edgeloop.wire.packing import pack_items


def wrong_key(connection: str) -> str:
    parts = [p for p in connection.split(";") if not p.startswith("AccountKey=")]
    return ";".join([*parts, "AccountKey=" + base64.b64encode(b"not the account key").decode()])


@pytest.mark.slow
def test_insights_poisoned_by_a_cloud_outage_are_replayed_and_filtered(
    edge_host: EdgeHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = f"site-{uuid.uuid4().hex[:8]}"
    record = {
        "kind": "insight",
        "schema_version": 1,
        "insight_id": f"{uuid.uuid4().hex}-00000",
        "site_id": site,
        "scored_at": "2026-11-21T08:00:00.000000Z",
        "model": {"name": "ai4i", "version": "1.0.0", "sha256": "ab" * 32},
        "inputs": {"torque_nm": 40.0},
        "outputs": {"failure_probability": 0.05},
        "anomaly": False,
        "anomaly_kinds": [],
    }
    ((body, _),) = pack_items([orjson.dumps(record)])
    edge_host.sender.send_message(body)
    poison = f"{edge_host.queue}-poison"

    host = edge_host.start(CloudStorage=wrong_key(edge_host.cloud))
    try:
        wait_until(lambda: len(queue_texts(edge_host.edge, poison)) == 1, 120, "a poisoned message", host)
    finally:
        assert host.stop() == 0, host.output()
    assert edge_host.names("compliant", site) == []

    for key, value in {
        "EdgeStorage": edge_host.edge,
        "CloudStorage": edge_host.cloud,
        "ServiceBusConnection": edge_host.cloud,
        "INSIGHTS_QUEUE": edge_host.queue,
        "EDGELOOP_INSIGHTS_TOPIC": edge_host.topic,
    }.items():
        monkeypatch.setenv(key, value)
    replayed = CliRunner().invoke(app, ["ops", "replay", poison, "--all", "--actor", "operator-ann"])
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1" in replayed.output
    assert queue_texts(edge_host.edge, poison) == []

    host = edge_host.start()
    try:
        wait_until(
            lambda: len(edge_host.names("compliant", site)) == 1, 60, "the replayed insight's blob", host
        )
    finally:
        assert host.stop() == 0, host.output()
    (name,) = edge_host.names("compliant", site)
    assert name.endswith(f"{message_digest(body)}.jsonl.gz")  # the very message, unchanged
    assert [r["insight_id"] for r in edge_host.lines("compliant", name)] == [record["insight_id"]]
