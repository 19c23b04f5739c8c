"""Drive the cloud ``feed_powerbi`` function as the Functions host would: one home for the
published-event plumbing and the settings the function reads, shared by the feed's tests."""

from __future__ import annotations

import uuid
from pathlib import Path

import azure.functions as func
import pytest
from azure.storage.queue import QueueClient
from support.fake_powerbi_server import FakePowerBI

from edgeloop.adapters.queue_publisher import QueueEventPublisher
from edgeloop.ports import BlobWrittenEvent
from edgeloop.wire.messaging import subscription_queue
from edgeloop.wire.servicebus_envelope import parse_envelope
from functions import cloud_powerbi, dependencies
from localdev.functions_host.messages import decode_body, to_service_bus_message


def receive_as_service_bus_message(connection: str, queue_name: str) -> func.ServiceBusMessage:
    """What the local Functions host hands a topic-triggered function (docs/functions-host.md)."""
    queue = QueueClient.from_connection_string(connection, queue_name)
    message = queue.receive_message(visibility_timeout=30)
    assert message is not None
    envelope = parse_envelope(decode_body(message.content, "base64"))
    return to_service_bus_message(envelope, message, None)


def published_to_powerbi(connection: str, event: BlobWrittenEvent) -> func.ServiceBusMessage:
    """``event`` published on a fresh topic, as the ``powerbi`` subscription delivers it."""
    topic = f"t{uuid.uuid4().hex[:12]}"
    QueueEventPublisher.from_connection_string(connection, topic, ["powerbi"]).publish([event])
    return receive_as_service_bus_message(connection, subscription_queue(topic, "powerbi"))


def feed_powerbi_as_configured(
    message: func.ServiceBusMessage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *,
    connection: str, mode: str, power_bi: FakePowerBI, dataset: str,
    definition: Path | None = None, deliveries: int = 1,
) -> None:  # fmt: skip
    """Run ``feed_powerbi`` on ``message`` ``deliveries`` times with only the environment
    configuring it (sink and ledger under ``tmp_path``), as a deployed function app is."""
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    monkeypatch.setenv("CloudStorage", connection)
    monkeypatch.setenv("POWERBI_MODE", mode)
    if definition is not None:
        monkeypatch.setenv("POWERBI_DATASET_DEFINITION", str(definition))
    monkeypatch.setenv("POWERBI_SINK_DIR", str(tmp_path / "sink"))
    monkeypatch.setenv("POWERBI_LEDGER_PATH", str(tmp_path / "ledger.sqlite3"))
    monkeypatch.setenv("POWERBI_API_BASE_URL", power_bi.base_url)
    monkeypatch.setenv("POWERBI_GROUP_ID", power_bi.group_id)
    monkeypatch.setenv("POWERBI_DATASET_ID", dataset)
    monkeypatch.setenv("POWERBI_ACCESS_TOKEN", power_bi.token)
    dependencies.powerbi_feed.override(None)  # built from the environment, not a test's feed
    try:
        for _ in range(deliveries):
            cloud_powerbi.feed_powerbi(message)
    finally:
        dependencies.powerbi_feed.override(None)
