"""The measurements behind figures 1-6: servers up, wrk runs back to back, ratios out.

Every compared pair runs in the same round, one right after the other, on
the same machine, each server with one worker process; the relay's backlog is
drained before the next measurement so its work never lands on a neighbour.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.progress import Progress

from bench import servers
from bench.report import Figure
from bench.rows import REPO_ROOT, batches, demo_rows, flat_bodies, rows_bodies
from bench.servers import Server, ServerError
from bench.serving_figures import (
    BATCH_CONNECTIONS,
    BATCH_ROWS,
    SINGLE_CONNECTIONS,
    serving_figures,
    wrk_errors,
)
from bench.wrk import WrkResult, run_wrk, write_script
from edgeloop.local.azurite import Azurite

API_KEY = "bench-local-api-key"  # a key for the benchmark's own throwaway server, not a secret
FRESHNESS_RATE = 200.0  # records/s, single-row requests


@dataclass(frozen=True)
class Settings:
    seconds: float
    warmup: float
    rounds: int
    e2e_burst: float
    naive_records: int
    freshness_seconds: float
    skip: frozenset[str]
    out: Path

    def describe(self) -> dict[str, Any]:
        return {
            "seconds per measurement": self.seconds,
            "warm-up seconds": self.warmup,
            "rounds": self.rounds,
            "single-row connections": SINGLE_CONNECTIONS,
            "batch connections": BATCH_CONNECTIONS,
            "rows per batch request": BATCH_ROWS,
            "end-to-end burst seconds (ours)": self.e2e_burst,
            "end-to-end records (naive)": self.naive_records,
            "freshness rate records/s": FRESHNESS_RATE,
            "server workers": 1,
            "wrk threads": 1,
        }


class Bench:
    def __init__(self, settings: Settings, work: Path, progress: Progress) -> None:
        self.settings = settings
        self.work = work
        self.progress = progress
        self.model_dir = REPO_ROOT / "var" / "models" / "demo"
        if not (self.model_dir / "manifest.json").exists():
            raise ServerError(f"no demo model in {self.model_dir}: run `make model`")
        rows = demo_rows()
        self.single = rows_bodies(batches(rows, 1, 512))
        self.flat = flat_bodies(rows[:512])
        self.batch = rows_bodies(batches(rows, BATCH_ROWS, 16))
        self.task = progress.add_task("starting", total=self._total_steps())
        self.breakdown: dict[str, float] = {}

    def _total_steps(self) -> int:
        per_round = 6 + (0 if "peer" in self.settings.skip else 4)
        e2e_steps = 0 if "e2e" in self.settings.skip else 4
        global_steps = 0 if "global" in self.settings.skip else 1
        return 2 + per_round * self.settings.rounds + e2e_steps + global_steps

    # progress -----------------------------------------------------------------
    def step(self, text: str) -> None:
        self.progress.update(self.task, description=text)

    def done(self) -> None:
        self.progress.advance(self.task)

    def log(self, text: str) -> None:
        self.progress.console.print(text)

    # measurements -------------------------------------------------------------
    def script(self, name: str, path: str, bodies: list[bytes], key: bool = False) -> Path:
        headers = {"X-API-Key": API_KEY} if key else {}
        return write_script(self.work, name, path, bodies, headers)

    def wrk(self, label: str, server: Server, script: Path, connections: int, rows: int = 1) -> WrkResult:
        self.step(label)
        run_wrk(server.base_url, script, connections=connections, seconds=self.settings.warmup)
        result = run_wrk(server.base_url, script, connections=connections, seconds=self.settings.seconds)
        rate = (
            f"{result.requests_per_s * rows:,.0f} rows/s"
            if rows > 1
            else f"{result.requests_per_s:,.0f} req/s"
        )
        warn = f" [red]{wrk_errors(result)}[/]" if not result.ok else ""
        self.log(f"  {label}: {rate}, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms{warn}")
        self.done()
        return result

    def drain(self, server: Server, timeout: float = 300.0) -> float:
        """Wait until the app's outbox is empty (the relay caught up); the seconds it took."""
        started = time.monotonic()
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            while True:
                depth = client.get("/readyz").json()["checks"]["outbox"]["depth"]
                if depth == 0:
                    return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    raise TimeoutError(
                        f"{server.name}: outbox still holds {depth} records after {timeout:.0f}s"
                    )
                time.sleep(0.1)

    def inprocess(self) -> float:
        self.step("in-process onnxruntime, 1,000-row batches")
        completed = subprocess.run(
            [sys.executable, "-m", "bench.inprocess", "--seconds", str(self.settings.seconds / 2)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        rate = float(orjson.loads(completed.stdout)["rows_per_s"])
        self.log(f"  in-process onnxruntime: {rate:,.0f} rows/s")
        self.done()
        return rate

    def _breakdown(self) -> dict[str, float]:
        """Microseconds per 1,000-row request, stage by stage (bench/breakdown.py)."""
        self.step("where a 1,000-row request's time goes (bench/breakdown.py)")
        completed = subprocess.run(
            [sys.executable, "-m", "bench.breakdown"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        stages: dict[str, float] = orjson.loads(completed.stdout)
        total = sum(stages.values())
        for name, micros in stages.items():
            self.log(f"  {micros / 1000:7.2f} ms {micros / total:6.1%}  {name}")
        self.done()
        return stages

    # figures 1-5 ----------------------------------------------------------------
    def serving_figures(self) -> list[Figure]:  # figures 1-5
        azurite = Azurite.on_free_ports(self.work / "azurite")
        started: list[Server] = []

        def start(server: Server, timeout: float = 120.0) -> Server:
            self.step(f"starting {server.name}")
            started.append(server)
            return server.start(timeout)

        try:
            self.step("starting Azurite")
            azurite.start()
            edge = azurite.connection_string("edge")
            on = start(
                servers.scoring_app(self.work, "on", self.model_dir, API_KEY, edge, "bench-q", relay=True)
            )
            off = start(
                servers.scoring_app(self.work, "off", self.model_dir, API_KEY, edge, "bench-q", relay=False)
            )
            naive = start(servers.naive_app(self.work, self.model_dir))
            peer: Server | None = None
            peer_note = ""
            if "peer" not in self.settings.skip:
                try:
                    peer = start(servers.bentoml_server(self.work, self.model_dir), timeout=240)
                except ServerError as exc:
                    peer_note = f"BentoML did not start: {str(exc)[:200]}"
                    self.log(f"[red]{peer_note}[/]")
            self.done()
            runs = self._rounds(on, off, naive, peer)
            self.breakdown = self._breakdown()
            memory = {
                "on": on.peak_rss_mb(),
                "naive": naive.peak_rss_mb(),
                "peer": max(servers.vm_hwm_kib(p) for p in peer.processes()[1:]) / 1024 if peer else None,
            }
        finally:
            for server in reversed(started):
                server.stop()
            azurite.stop()
        return serving_figures(runs, memory, peer_note, self.settings.rounds)

    def _rounds(self, on: Server, off: Server, naive: Server, peer: Server | None) -> dict[str, list[Any]]:
        ours_single = self.script("ours-single", "/api/v1/score", self.single, key=True)
        ours_batch = self.script("ours-batch", "/api/v1/score", self.batch, key=True)
        naive_single = self.script("naive-single", "/predict", self.flat)
        peer_scripts = {
            (endpoint, kind): self.script(f"peer-{endpoint}-{kind}", f"/{endpoint}", bodies)
            for endpoint in ("predict", "predict_batched")
            for kind, bodies in (("single", self.single), ("batch", self.batch))
        }
        runs: dict[str, list[Any]] = {}

        def keep(name: str, value: Any) -> Any:
            runs.setdefault(name, []).append(value)
            return value

        n = self.settings.rounds
        for index in range(n):
            tag = f"round {index + 1}/{n}"
            keep("naive", self.wrk(f"{tag} naive app, single row", naive, naive_single, SINGLE_CONNECTIONS))
            keep("on", self.wrk(f"{tag} ours, single row", on, ours_single, SINGLE_CONNECTIONS))
            self.drain(on)
            keep("off", self.wrk(f"{tag} ours relay off, single row", off, ours_single, SINGLE_CONNECTIONS))
            if peer is not None:
                for endpoint in ("predict", "predict_batched"):
                    label = f"{tag} BentoML /{endpoint}, single row"
                    keep(
                        f"peer-{endpoint}",
                        self.wrk(label, peer, peer_scripts[endpoint, "single"], SINGLE_CONNECTIONS),
                    )
            elif "peer" not in self.settings.skip:
                self.done()
                self.done()
            label = f"{tag} ours, 1,000-row requests"
            keep("batch", self.wrk(label, on, ours_batch, BATCH_CONNECTIONS, BATCH_ROWS))
            keep("drain", self.drain(on))
            label = f"{tag} ours relay off, 1,000-row requests"
            keep("batch-off", self.wrk(label, off, ours_batch, BATCH_CONNECTIONS, BATCH_ROWS))
            keep("inprocess", self.inprocess())
            if peer is not None:
                for endpoint in ("predict", "predict_batched"):
                    label = f"{tag} BentoML /{endpoint}, 1,000-row requests"
                    script = peer_scripts[endpoint, "batch"]
                    keep(
                        f"peer-batch-{endpoint}", self.wrk(label, peer, script, BATCH_CONNECTIONS, BATCH_ROWS)
                    )
            elif "peer" not in self.settings.skip:
                self.done()
                self.done()
        return runs
