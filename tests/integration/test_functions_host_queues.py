"""The local Functions host against real Azurite: queue triggers (host run as a child process).

The function app is tests/support/function_apps/queue_app (a sync and an async function).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient
from azure.storage.queue import BinaryBase64EncodePolicy, QueueClient
from support.function_apps.host_harness import (
    HostProcess,
    fast_host_json,
    read_records,
    start_host,
    wait_until,
)

from localdev.azurite import Azurite


@dataclass
class QueueSetup:
    name: str
    connection: str
    records: Path
    markers: ContainerClient
    tmp: Path
    hosts: list[HostProcess]

    def client(self, suffix: str = "", *, base64_encode: bool = True) -> QueueClient:
        policy = BinaryBase64EncodePolicy() if base64_encode else None
        return QueueClient.from_connection_string(
            self.connection, self.name + suffix, message_encode_policy=policy
        )

    def send(self, command: dict[str, object], suffix: str = "") -> None:
        self.client(suffix).send_message(json.dumps(command).encode())

    def settings(self, **extra: str) -> dict[str, str]:
        return {
            "TEST_STORAGE": self.connection,
            "AzureWebJobsStorage": self.connection,
            "TEST_QUEUE": self.name,
            "TEST_RECORD_FILE": str(self.records),
            "TEST_MARKER_CONTAINER": self.markers.container_name,
            **extra,
        }

    def start(self, host_json: Path, *args: str, **extra: str) -> HostProcess:
        host = start_host("queue_app", self.tmp, self.settings(**extra), "--host-json", str(host_json), *args)
        self.hosts.append(host)
        return host

    def invocations(self, fn: str | None = None) -> list[dict[str, Any]]:
        return [r for r in read_records(self.records) if fn is None or r["fn"] == fn]

    def queue_exists(self, suffix: str) -> bool:
        try:
            self.client(suffix).get_queue_properties()
        except ResourceNotFoundError:
            return False
        return True

    def marker_count(self) -> int:
        return len(list(self.markers.list_blob_names()))

    def queue_length(self, suffix: str = "") -> int:
        return int(self.client(suffix).get_queue_properties().approximate_message_count)


@pytest.fixture
def setup(azurite: Azurite, tmp_path: Path) -> Iterator[QueueSetup]:
    name = f"q{uuid.uuid4().hex[:12]}"
    connection = azurite.connection_string("edge")
    markers = ContainerClient.from_connection_string(connection, f"markers-{name}")
    markers.create_container()
    result = QueueSetup(name, connection, tmp_path / "records.jsonl", markers, tmp_path, [])
    for suffix in ("", "-async"):
        result.client(suffix).create_queue()
    yield result
    for host in result.hosts:
        host.kill()


def max_overlap(invocations: list[dict[str, Any]]) -> int:
    """The most invocations running at one moment."""
    events = sorted([(r["start"], 1) for r in invocations] + [(r["end"], -1) for r in invocations])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.slow
def test_every_message_is_processed_once_in_batches_within_the_in_flight_limit(setup: QueueSetup) -> None:
    host_json = fast_host_json(setup.tmp / "host.json", batchSize=4, newBatchThreshold=2)
    for i in range(24):
        setup.send({"id": f"s{i}", "sleep": 0.2})
    for i in range(6):
        setup.send({"id": f"a{i}", "sleep": 0.2}, suffix="-async")
    host = setup.start(host_json)
    wait_until(lambda: setup.marker_count() == 30, 60, "30 marker blobs", host)
    assert host.stop() == 0

    sync_runs, async_runs = setup.invocations("work"), setup.invocations("work_async")
    assert sorted(r["id"] for r in sync_runs) == sorted(f"s{i}" for i in range(24))
    assert sorted(r["id"] for r in async_runs) == sorted(f"a{i}" for i in range(6))
    assert all(r["dequeue_count"] == 1 and not r["failed"] for r in sync_runs + async_runs)
    # batchSize + newBatchThreshold is the most in flight per function; a batch runs in parallel.
    assert 1 < max_overlap(sync_runs) <= 6
    assert 1 < max_overlap(async_runs) <= 6
    assert setup.queue_length() == 0
    assert setup.queue_length("-async") == 0
    assert "outcome=Succeeded" in host.output()


@pytest.mark.slow
def test_a_failing_message_is_poisoned_after_exactly_max_dequeue_count_attempts(setup: QueueSetup) -> None:
    host_json = fast_host_json(setup.tmp / "host.json", maxDequeueCount=3)
    setup.send({"id": "bad", "fail_until": 99})
    setup.send({"id": "good"})
    setup.client("-poison").create_queue()
    host = setup.start(host_json)
    wait_until(lambda: setup.queue_length("-poison") == 1, 60, "a poison message", host)
    wait_until(lambda: setup.marker_count() == 1, 30, "the good message", host)
    assert host.stop() == 0

    bad = setup.invocations("work")
    assert [r["dequeue_count"] for r in bad if r["id"] == "bad"] == [1, 2, 3]
    poisoned = setup.client("-poison", base64_encode=False).receive_message()
    assert poisoned is not None
    assert json.loads(base64.b64decode(poisoned.content)) == {"id": "bad", "fail_until": 99}
    assert setup.queue_length() == 0
    assert "has reached MaxDequeueCount of 3" in host.output()
    assert "outcome=Failed exception=RuntimeError" in host.output()


@pytest.mark.slow
def test_a_failed_message_becomes_visible_again_after_the_visibility_timeout(setup: QueueSetup) -> None:
    host_json = fast_host_json(setup.tmp / "host.json", visibilityTimeout="00:00:02")
    setup.send({"id": "retry", "fail_until": 2})
    host = setup.start(host_json)
    wait_until(lambda: setup.marker_count() == 1, 60, "the retried message to succeed", host)
    assert host.stop() == 0

    first, second = setup.invocations("work")
    assert (first["dequeue_count"], first["failed"]) == (1, True)
    assert (second["dequeue_count"], second["failed"]) == (2, False)
    gap = second["start"] - first["end"]
    assert 1.5 <= gap < 6.0, gap


@pytest.mark.slow
def test_message_encoding_base64_and_none(setup: QueueSetup) -> None:
    payload = b"\x00\xffbinary"
    setup.client().send_message(payload)
    setup.client(base64_encode=False).send_message("not base64!")
    setup.client("-poison").create_queue()
    host = setup.start(fast_host_json(setup.tmp / "host64.json"))
    wait_until(lambda: setup.queue_length("-poison") == 1, 60, "the undecodable message poisoned", host)
    wait_until(lambda: len(setup.invocations()) == 1, 30, "the binary message", host)
    assert host.stop() == 0
    assert base64.b64decode(setup.invocations()[0]["raw_b64"]) == payload
    assert setup.client("-poison", base64_encode=False).receive_message().content == "not base64!"

    text = 'plain text, {"not": "json"} é'
    setup.client(base64_encode=False).send_message(text)
    host = setup.start(fast_host_json(setup.tmp / "hostnone.json", messageEncoding="none"))
    wait_until(lambda: len(setup.invocations()) == 2, 30, "the plain message", host)
    assert host.stop() == 0
    assert base64.b64decode(setup.invocations()[1]["raw_b64"]).decode("utf-8") == text


@pytest.mark.slow
def test_kill_9_mid_batch_then_restart_loses_no_message(setup: QueueSetup) -> None:
    host_json = fast_host_json(setup.tmp / "host.json", batchSize=8)
    lease = {"EDGELOOP_HOST_MESSAGE_LEASE_SECONDS": "2"}  # killed messages reappear after 2 s
    for i in range(30):
        setup.send({"id": f"m{i}", "sleep": 0.3})
    host = setup.start(host_json, **lease)
    wait_until(lambda: setup.marker_count() >= 4, 60, "some messages done", host)
    host.kill()
    assert setup.marker_count() < 30

    host = setup.start(host_json, **lease)
    wait_until(lambda: setup.marker_count() == 30, 90, "every message done after the restart", host)
    wait_until(lambda: setup.queue_length() == 0, 30, "the queue drained", host)
    assert host.stop() == 0
    assert {r["id"] for r in setup.invocations() if not r["failed"]} == {f"m{i}" for i in range(30)}
    assert not setup.queue_exists("-poison")


@pytest.mark.slow
def test_a_long_run_keeps_its_message_leased(setup: QueueSetup) -> None:
    setup.send({"id": "long", "sleep": 5})
    lease = {"EDGELOOP_HOST_MESSAGE_LEASE_SECONDS": "2"}  # renewed every second
    host = setup.start(fast_host_json(setup.tmp / "host.json"), **lease)
    wait_until(lambda: setup.marker_count() == 1, 60, "the long message done", host)
    assert host.stop() == 0
    assert [r["dequeue_count"] for r in setup.invocations()] == [1]
    assert setup.queue_length() == 0


@pytest.mark.slow
def test_sigterm_lets_the_running_invocation_finish_and_acknowledges_only_completed_work(
    setup: QueueSetup,
) -> None:
    host_json = fast_host_json(setup.tmp / "host.json", batchSize=1, newBatchThreshold=0)
    setup.send({"id": "slow", "sleep": 1.5})
    host = setup.start(host_json)
    wait_until(lambda: "Executing 'Functions.work'" in host.output(), 60, "the invocation to start", host)
    assert host.stop() == 0
    assert setup.marker_count() == 1
    assert setup.queue_length() == 0

    # An invocation that outlives the shutdown timeout is not acknowledged: it runs again later.
    setup.send({"id": "slower", "sleep": 4})
    lease = {"EDGELOOP_HOST_MESSAGE_LEASE_SECONDS": "2"}
    host = setup.start(host_json, "--shutdown-timeout", "0.5", **lease)
    wait_until(lambda: "Executing 'Functions.work'" in host.output(), 60, "the invocation to start", host)
    assert host.stop() == 3
    assert "1 invocation(s) unfinished" in host.output()
    assert setup.marker_count() == 1
    assert setup.queue_length() == 1

    host = setup.start(host_json, **lease)
    wait_until(lambda: setup.marker_count() == 2, 60, "the unfinished message to run again", host)
    assert host.stop() == 0
    assert [r["dequeue_count"] for r in setup.invocations() if r["id"] == "slower"] == [2]


@pytest.mark.slow
def test_bindings_resolve_from_local_settings_json_and_a_missing_setting_stops_the_host(
    setup: QueueSetup,
) -> None:
    local_settings = setup.tmp / "local.settings.json"
    local_settings.write_text(json.dumps({"IsEncrypted": False, "Values": setup.settings()}))
    setup.send({"id": "from-file"})
    host = start_host("queue_app", setup.tmp, {}, "--local-settings", str(local_settings))
    setup.hosts.append(host)
    wait_until(lambda: setup.marker_count() == 1, 60, "the message on the queue named in the file", host)
    assert host.stop() == 0

    values = {k: v for k, v in setup.settings().items() if k != "TEST_QUEUE"}
    local_settings.write_text(json.dumps({"Values": values}))
    host = start_host("queue_app", setup.tmp, {}, "--local-settings", str(local_settings))
    assert host.process.wait(60) == 2
    expected = "app setting 'TEST_QUEUE' (used by function 'work', binding property 'queueName') is not set"
    assert expected in host.output()


@pytest.mark.parametrize(("role", "missing"), [("edge", "EDGE_QUEUE"), ("cloud", "ServiceBusConnection")])
def test_the_role_is_set_before_the_app_is_imported(tmp_path: Path, role: str, missing: str) -> None:
    settings = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    host = start_host("role_app", tmp_path, settings, "--role", role)
    assert host.process.wait(60) == 2
    assert f"app setting '{missing}'" in host.output()
