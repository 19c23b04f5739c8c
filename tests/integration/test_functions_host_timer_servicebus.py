"""The local Functions host against real Azurite: timers (schedule monitor) and emulated Service Bus.

Function apps: tests/support/function_apps/timer_app and servicebus_app (hosts run as child processes).
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueClient
from support.function_apps.host_harness import fast_host_json, read_records, start_host, wait_until

from edgeloop.wire.servicebus_envelope import Envelope, encode_envelope
from localdev.azurite import Azurite


@pytest.mark.slow
def test_timer_fires_on_schedule_and_a_restart_neither_skips_nor_repeats_a_run(
    azurite: Azurite, tmp_path: Path
) -> None:
    records = tmp_path / "records.jsonl"
    host_id = f"t{uuid.uuid4().hex[:12]}"
    settings = {
        "AzureWebJobsStorage": azurite.connection_string("edge"),
        "AzureFunctionsWebHost__hostid": host_id,
        "TEST_SCHEDULE": "*/1 * * * * *",
        "TEST_RECORD_FILE": str(records),
    }
    host = start_host("timer_app", tmp_path, settings)
    wait_until(lambda: len(read_records(records)) >= 3, 30, "three timer runs", host)
    assert host.stop() == 0
    before = read_records(records)
    assert not any(r["past_due"] for r in before)
    occurrences = [datetime.fromisoformat(r["occurrence"]) for r in before]
    assert all(o.microsecond == 0 for o in occurrences)  # on the second, as scheduled
    assert all((b - a).total_seconds() >= 1 for a, b in itertools.pairwise(occurrences))

    status_blob = ContainerClient.from_connection_string(
        azurite.connection_string("edge"), "azure-webjobs-hosts"
    ).download_blob(f"timers/{host_id}/tick/status")
    status = json.loads(status_blob.readall())
    assert datetime.fromisoformat(status["Last"]) == occurrences[-1]

    time.sleep(2.5)  # let the recorded next occurrence pass while the host is down
    host = start_host("timer_app", tmp_path, settings)
    wait_until(lambda: len(read_records(records)) >= len(before) + 2, 30, "runs after the restart", host)
    assert host.stop() == 0
    after = read_records(records)[len(before) :]
    assert after[0]["past_due"] is True
    assert datetime.fromisoformat(after[0]["occurrence"]) == datetime.fromisoformat(status["Next"])
    assert [r["past_due"] for r in after[1:]] == [False] * (len(after) - 1)
    every = [r["occurrence"] for r in read_records(records)]
    assert len(every) == len(set(every)), "an occurrence ran twice"


@pytest.mark.slow
def test_service_bus_topic_emulation_delivers_to_the_subscription_queue_and_dead_letters(
    azurite: Azurite, tmp_path: Path
) -> None:
    topic = f"t{uuid.uuid4().hex[:10]}"
    connection = azurite.connection_string("cloud")
    records = tmp_path / "records.jsonl"

    def length(client: QueueClient) -> int:
        try:
            return int(client.get_queue_properties().approximate_message_count)
        except ResourceNotFoundError:
            return 0

    def queue(name: str) -> QueueClient:
        return QueueClient.from_connection_string(connection, name)

    for name in (f"{topic}-global", f"{topic}-powerbi"):
        queue(name).create_queue()
    envelope = Envelope(
        message_id="insight-1",
        subject="insight",
        application_properties={"site": "site-a", "compliant": True},
        body={"insight_id": "abc-00001", "risk": 0.9},
    )
    queue(f"{topic}-global").send_message(encode_envelope(envelope))
    queue(f"{topic}-powerbi").send_message(encode_envelope(Envelope(message_id="bad-1", body={"fail": True})))
    settings = {
        "ServiceBusConnection": connection,
        "AzureWebJobsStorage": azurite.connection_string("edge"),
        "TEST_TOPIC": topic,
        "TEST_RECORD_FILE": str(records),
        "EDGELOOP_SERVICEBUS_MAX_DELIVERY_COUNT": "2",
    }
    host = start_host(
        "servicebus_app", tmp_path, settings, "--host-json", str(fast_host_json(tmp_path / "host.json"))
    )
    dead_letters = queue(f"{topic}-powerbi-deadletter")
    wait_until(lambda: len(read_records(records)) == 3, 30, "three deliveries", host)
    wait_until(lambda: length(dead_letters) == 1, 30, "a dead letter", host)
    assert host.stop() == 0

    delivered = read_records(records)
    [global_message] = [r for r in delivered if r["fn"] == "global"]
    assert global_message == {
        **global_message,
        "message_id": "insight-1",
        "subject": "insight",
        "body": {"insight_id": "abc-00001", "risk": 0.9},
        "application_properties": {"site": "site-a", "compliant": True},
        "delivery_count": 1,
        "content_type": "application/json",
    }
    assert [(r["message_id"], r["delivery_count"]) for r in delivered if r["fn"] == "powerbi"] == [
        ("bad-1", 1),
        ("bad-1", 2),
    ]
    dead = json.loads(base64.b64decode(dead_letters.receive_message().content))
    assert dead["message_id"] == "bad-1"
    assert dead["body"] == {"fail": True}
    assert dead["dead_letter_reason"] == "MaxDequeueCountExceeded"
    assert "asked to fail" in dead["dead_letter_error_description"]
    assert queue(f"{topic}-global").get_queue_properties().approximate_message_count == 0
