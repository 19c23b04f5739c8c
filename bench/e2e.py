"""End to end: ``POST /api/v1/score`` to compliant blobs in the cloud account, ours and naive.

Ours: the scoring app (outbox + relay) and the local Functions host running
``filter_insights`` with the project's host.json, on one Azurite. Naive:
bench/naive_pipeline.py on the same Azurite. Both are timed the same way: a
burst of N records goes in, and the rate is N over the time from the first
record sent to the moment the last one is in a blob (the container is listed
every 100 ms; each blob's time is the first listing that shows it). Records
are counted inside the blobs. Freshness: single-row requests at a steady rate
(bench/paced.py); each record's blob time minus its ``scored_at``.
"""

from __future__ import annotations

import contextlib
import gzip
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient

from bench.servers import REPO_ROOT, base_env
from edgeloop.domain.records import parse_timestamp
from edgeloop.wire.storage_layout import COMPLIANT_CONTAINER
from localdev.azurite import stop_process_group

HMAC_KEY = "bench-site-key-not-a-secret-0123"  # a local benchmark key, not a secret
NAIVE_CONTAINER = "naive-compliant"
NAIVE_QUEUE = "naive-insights"
DELIVERY_TIMEOUT = 300.0


class PipelineError(RuntimeError):
    """The pipeline under test did not deliver in time (the message says what was missing)."""


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise PipelineError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def start_edge_host(work: Path, edge: str, cloud: str, queue: str, topic: str) -> subprocess.Popen[bytes]:
    """``python -m localdev.functions_host --role edge`` with the project's host.json (local polling)."""
    env = base_env(
        AzureWebJobsStorage=edge,
        EdgeStorage=edge,
        CloudStorage=cloud,
        ServiceBusConnection=cloud,
        INSIGHTS_QUEUE=queue,
        EDGELOOP_INSIGHTS_TOPIC=topic,
        EDGELOOP_SITE_HMAC_KEY=HMAC_KEY,
        EDGELOOP_COMPLIANCE_POLICY=str(REPO_ROOT / "policies" / "compliance.yaml"),
    )
    command = [sys.executable, "-m", "localdev.functions_host", "--role", "edge", "--app", "function_app.py"]
    command += ["--host-json", str(REPO_ROOT / "host.json"), "--local-settings", str(work / "absent.json")]
    with (work / "functions-host.log").open("ab") as log:
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


class CompliantBlobs:
    """The ``compliant`` blobs of one site: names, first-seen times, records inside."""

    def __init__(self, cloud: str, site: str) -> None:
        service = BlobServiceClient.from_connection_string(cloud)
        self._container: ContainerClient = service.get_container_client(COMPLIANT_CONTAINER)
        self._prefix = f"site={site}/"
        self.first_seen: dict[str, float] = {}  # blob name -> unix time it was first listed
        self._records: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._watching = threading.Event()
        self._watcher: threading.Thread | None = None

    def names(self) -> list[str]:
        if not self._container.exists():
            return []
        return [str(b.name) for b in self._container.list_blobs(name_starts_with=self._prefix)]

    def records(self, name: str) -> list[dict[str, Any]]:
        if name not in self._records:
            data = self._container.get_blob_client(name).download_blob().readall()
            self._records[name] = [orjson.loads(line) for line in gzip.decompress(data).splitlines()]
        return self._records[name]

    def seen(self) -> dict[str, float]:
        with self._lock:
            return dict(self.first_seen)

    def watch(self, interval: float = 0.1) -> None:
        """List the container every ``interval`` s on a thread, noting when each blob first shows."""

        def loop() -> None:
            while self._watching.is_set():
                listed_at = time.time()
                names = self.names()
                with self._lock:
                    for name in names:
                        self.first_seen.setdefault(name, listed_at)
                time.sleep(interval)

        self._watching.set()
        self._watcher = threading.Thread(target=loop, name="blob-watcher", daemon=True)
        self._watcher.start()

    def stop_watching(self) -> None:
        self._watching.clear()
        if self._watcher is not None:
            self._watcher.join(10)

    def delivered(self, since: float) -> tuple[int, float]:
        """Records in blobs first seen after ``since`` (unix time), and when the last of those showed."""
        fresh = {name: at for name, at in self.seen().items() if at > since}
        count = sum(len(self.records(name)) for name in fresh)
        return count, max(fresh.values(), default=since)


@dataclass(frozen=True)
class Freshness:
    rate: float  # records/s actually sent
    records: int
    p50_s: float
    p95_s: float
    max_s: float


def measure_freshness(
    blobs: CompliantBlobs, url: str, api_key: str, bodies_file: Path, rate: float, seconds: float
) -> Freshness:
    """Single-row requests at ``rate``/s (blobs must be watched); freshness of every record they made."""
    started = time.time()
    command = [sys.executable, "-m", "bench.paced", "--url", url, "--bodies", str(bodies_file)]
    command += ["--rate", str(rate), "--seconds", str(seconds), "--api-key", api_key]
    completed = subprocess.run(
        command,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    sent: dict[str, float] = orjson.loads(completed.stdout)
    if sent["failed"]:
        raise PipelineError(f"{sent['failed']} paced requests failed")
    ages: list[float] = []

    def all_arrived() -> bool:
        ages.clear()
        for name, seen in blobs.seen().items():
            for record in blobs.records(name):
                scored = parse_timestamp(record["scored_at"], "scored_at").timestamp()
                if scored >= started:
                    ages.append(seen - scored)
        return len(ages) >= sent["accepted"]

    wait_for(all_arrived, 120, f"{sent['accepted']} paced records in compliant blobs", interval=0.5)
    ages.sort()
    return Freshness(
        rate=sent["accepted"] / sent["seconds"],
        records=len(ages),
        p50_s=ages[len(ages) // 2],
        p95_s=ages[int(0.95 * (len(ages) - 1))],
        max_s=ages[-1],
    )


def ours_burst(blobs: CompliantBlobs, send: Callable[[], int]) -> tuple[int, float]:
    """``send()`` posts a burst and returns the rows accepted; (records, seconds until all are in blobs)."""
    started = time.time()
    accepted = send()
    state = {"count": 0, "last": started}

    def arrived() -> bool:
        state["count"], state["last"] = blobs.delivered(started)
        return state["count"] >= accepted

    wait_for(arrived, DELIVERY_TIMEOUT, f"{accepted} records in compliant blobs", interval=0.5)
    return accepted, state["last"] - started


def _read_line(stream: IO[bytes], timeout: float, what: str) -> bytes:
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise PipelineError(f"{what} did not get ready in {timeout:.0f}s")
    return stream.readline()


def naive_burst(work: Path, edge: str, cloud: str, records: int) -> float:
    """Seconds the naive pipeline takes from its first record sent to ``records`` blobs written."""
    service = BlobServiceClient.from_connection_string(cloud)
    with contextlib.suppress(ResourceExistsError):  # already there: what we want
        QueueClient.from_connection_string(edge, NAIVE_QUEUE).create_queue()
    with contextlib.suppress(ResourceExistsError):
        service.create_container(NAIVE_CONTAINER)
    container = service.get_container_client(NAIVE_CONTAINER)
    before = sum(1 for _ in container.list_blobs())
    common = ["--edge", edge, "--queue", NAIVE_QUEUE, "--max-seconds", str(DELIVERY_TIMEOUT + 60)]
    log = (work / "naive-pipeline.log").open("ab")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for role, extra in (
            ("consume", ["--cloud", cloud, "--container", NAIVE_CONTAINER]),
            ("produce", ["--count", str(records)]),
        ):
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.naive_pipeline", role, *common, *extra],
                cwd=REPO_ROOT,
                env=base_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
            processes.append(process)
            assert process.stdout is not None
            _read_line(process.stdout, 120, f"naive {role}")
        producer = processes[-1]
        assert producer.stdin is not None
        started = time.time()
        producer.stdin.write(b"go\n")
        producer.stdin.flush()
        wait_for(
            lambda: sum(1 for _ in container.list_blobs()) - before >= records,
            DELIVERY_TIMEOUT,
            f"{records} naive blobs",
            interval=0.1,
        )
        return time.time() - started
    finally:
        for process in processes:
            stop_process_group(process, timeout=40.0)
        log.close()
