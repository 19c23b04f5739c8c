"""Nothing acknowledged is lost: the scoring app as a real uvicorn process, the real Azurite queue.

(a) kill -9 during load, restart: every acknowledged insight reaches the queue.
(b) the uplink (Azurite) down for 30 s during load: no 5xx, scoring goes on, the backlog drains.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient
from support.bundles import demo_bundle, valid_rows

from edgeloop.domain.manifest import ModelManifest, load_manifest
from edgeloop.wire.packing import unpack_message
from localdev.azurite import Azurite, free_port, wait_for_port

pytestmark = pytest.mark.slow

API_KEY = "durability-test-key"
ROWS_PER_REQUEST = 10
CLIENTS = 8


@dataclass
class ScoringProcess:
    """``python -m scoring_app`` on a free port, wired to an Azurite queue."""

    work_dir: Path
    bundle: Path
    edge_storage: str
    queue: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "SCORING_PORT": str(self.port),
            "SCORING_MODEL_DIR": str(self.bundle),
            "SCORING_OUTBOX_PATH": str(self.work_dir / "outbox.sqlite3"),
            "SCORING_API_KEY": API_KEY,
            "SCORING_API_KEY_FILE": str(self.work_dir / "api-key"),
            "EdgeStorage": self.edge_storage,
            "INSIGHTS_QUEUE": self.queue,
            "EDGELOOP_SITE_ID": "site-durability",
            "EDGELOOP_LOCAL_SETTINGS": str(self.work_dir / "absent.json"),
        }
        log = (self.work_dir / "scoring.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scoring_app"], cwd=self.work_dir, env=env, stdout=log, stderr=log
        )
        log.close()
        wait_for_port("127.0.0.1", self.port, timeout=60)
        deadline = time.monotonic() + 60
        while httpx.get(f"{self.url}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "scoring app not ready in 60 s"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def outbox_depth(self) -> int:
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        line = next(line for line in text.splitlines() if line.startswith("edgeloop_outbox_depth "))
        return int(float(line.split()[1]))

    def wait_until_drained(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (depth := self.outbox_depth()) > 0:
            assert time.monotonic() < deadline, f"outbox still holds {depth} records after {timeout:.0f} s"
            time.sleep(0.25)


@dataclass
class Load:
    """Concurrent clients scoring until told to stop; records what was acknowledged."""

    url: str
    rows: list[dict[str, Any]]
    acknowledged: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0

    async def run(self, stop: asyncio.Event, target: int) -> None:
        async with httpx.AsyncClient(base_url=self.url, headers={"X-API-Key": API_KEY}, timeout=30) as client:
            await asyncio.gather(*(self._client(client, stop, target, seed) for seed in range(CLIENTS)))

    async def _client(self, client: httpx.AsyncClient, stop: asyncio.Event, target: int, seed: int) -> None:
        offset = seed
        while not stop.is_set() and len(self.acknowledged) < target:
            start = (offset * ROWS_PER_REQUEST) % (len(self.rows) - ROWS_PER_REQUEST)
            offset += CLIENTS
            try:
                response = await client.post(
                    "/api/v1/score", json={"rows": self.rows[start : start + ROWS_PER_REQUEST]}
                )
            except httpx.TransportError:
                self.transport_errors += 1
                await asyncio.sleep(0.05)  # the server is down (killed on purpose): back off a little
                continue
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            if response.status_code == 200:
                self.acknowledged.extend(result["insight_id"] for result in response.json()["results"])


def queued_insight_ids(connection_string: str, queue: str) -> list[str]:
    """Every insight id in the whole queue (messages are packed records)."""
    client = QueueClient.from_connection_string(
        connection_string, queue, message_decode_policy=BinaryBase64DecodePolicy()
    )
    ids: list[str] = []
    with client:
        for _ in range(10_000):
            batch = list(
                client.receive_messages(messages_per_page=32, visibility_timeout=600, max_messages=32)
            )
            if not batch:
                break
            for message in batch:
                ids.extend(r["insight_id"] for r in unpack_message(message.content) if r["kind"] == "insight")
    return ids


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def manifest(bundle: Path) -> ModelManifest:
    return load_manifest(bundle)


@pytest.fixture
def app_process(tmp_path: Path, bundle: Path, fresh_azurite: Azurite) -> Iterator[ScoringProcess]:
    work = tmp_path / "scoring"
    work.mkdir()
    scoring = ScoringProcess(
        work, bundle, fresh_azurite.connection_string("edge"), f"insights-{uuid.uuid4().hex[:12]}"
    )
    try:
        yield scoring
    finally:
        scoring.stop()


def test_kill_9_during_load_loses_no_acknowledged_insight(
    app_process: ScoringProcess, fresh_azurite: Azurite, manifest: ModelManifest
) -> None:
    load = Load(app_process.url, valid_rows(manifest, 2000, seed=11))
    app_process.start()

    async def until_killed() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(load.run(stop, target=10_000))
        for _ in range(1200):  # kill once about half the load is acknowledged (at most 120 s)
            if len(load.acknowledged) >= 2500:
                break
            await asyncio.sleep(0.1)
        app_process.kill()  # mid-load: requests are in flight right now
        await asyncio.sleep(0.5)
        stop.set()
        await running

    asyncio.run(until_killed())
    acknowledged_before_kill = len(load.acknowledged)
    assert acknowledged_before_kill >= 2500
    assert load.transport_errors > 0  # the kill did interrupt requests in flight

    app_process.start()
    asyncio.run(load.run(asyncio.Event(), target=5000 + ROWS_PER_REQUEST))
    assert len(load.acknowledged) >= 5000
    assert set(load.statuses) == {200}
    app_process.wait_until_drained(timeout=120)

    queued = set(queued_insight_ids(fresh_azurite.connection_string("edge"), app_process.queue))
    missing = set(load.acknowledged) - queued
    assert not missing, f"{len(missing)} acknowledged insights never reached the queue"


def test_uplink_down_for_30_s_keeps_scoring_and_drains_after(
    app_process: ScoringProcess, fresh_azurite: Azurite, manifest: ModelManifest
) -> None:
    load = Load(app_process.url, valid_rows(manifest, 2000, seed=12))
    app_process.start()

    async def with_outage() -> int:
        stop = asyncio.Event()
        running = asyncio.create_task(load.run(stop, target=10**9))
        for _ in range(600):
            if len(load.acknowledged) >= 500:
                break
            await asyncio.sleep(0.1)
        await asyncio.to_thread(fresh_azurite.stop)
        outage_started = time.monotonic()
        acknowledged_at_outage = len(load.acknowledged)
        await asyncio.sleep(30)
        scored_during_outage = len(load.acknowledged) - acknowledged_at_outage
        assert time.monotonic() - outage_started >= 30
        await asyncio.to_thread(fresh_azurite.start)  # same ports, same data directory
        await asyncio.sleep(2)
        stop.set()
        await running
        return scored_during_outage

    scored_during_outage = asyncio.run(with_outage())
    assert scored_during_outage > 500, "scoring must go on while the uplink is down"
    assert set(load.statuses) == {200}, f"no 5xx (or any error) during the outage: {load.statuses}"
    assert load.transport_errors == 0

    app_process.wait_until_drained(timeout=120)
    queued = set(queued_insight_ids(fresh_azurite.connection_string("edge"), app_process.queue))
    missing = set(load.acknowledged) - queued
    assert not missing, f"{len(missing)} acknowledged insights never reached the queue"
