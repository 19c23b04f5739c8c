"""The measurements behind figures 1-5: servers up, wrk slices interleaved, ratios out.

Each group of compared servers is measured in short interleaved slices (A, B,
C, A, B, C, ...), so a burst of load from elsewhere on a shared machine hits
every side alike; a rate is its slices' requests over their seconds. Servers
(one worker process each) are pinned to CPU 0 and wrk to CPU 1 when the machine
has two. The relay's backlog is drained after each slice of ours, so its work
never lands on a neighbour's slice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.progress import Progress

from bench import servers
from bench.report import Figure
from bench.rows import REPO_ROOT, batches, demo_rows, flat_bodies, rows_bodies
from bench.servers import SERVER_CPUS, Server, ServerError, pinned
from bench.serving_figures import BATCH_CONNECTIONS, BATCH_ROWS, SINGLE_CONNECTIONS, combine, serving_figures
from bench.wrk import WrkResult, run_wrk, write_script
from localdev.azurite import Azurite

API_KEY = "bench-local-api-key"  # a key for the benchmark's own throwaway server, not a secret
FRESHNESS_RATE = 200.0  # records/s, single-row requests
LOAD_CPUS = "1" if (os.cpu_count() or 1) >= 2 and shutil.which("taskset") else None


@dataclass(frozen=True)
class Drain:
    """The catching up after a slice: wall seconds until the outbox was empty, server CPU seconds."""

    seconds: float
    cpu_seconds: float


@dataclass(frozen=True)
class Settings:
    seconds: float
    slice: float
    warmup: float
    e2e_burst: float
    naive_records: int
    freshness_seconds: float
    skip: frozenset[str]
    out: Path

    @property
    def slices(self) -> int:
        return max(1, round(self.seconds / self.slice))

    def describe(self) -> dict[str, Any]:
        return {
            "seconds per server and figure": self.slices * self.slice,
            "interleaved slices of seconds": self.slice,
            "warm-up seconds": self.warmup,
            "single-row connections": SINGLE_CONNECTIONS,
            "batch connections": BATCH_CONNECTIONS,
            "rows per batch request": BATCH_ROWS,
            "end-to-end burst seconds (ours)": self.e2e_burst,
            "end-to-end records (naive)": self.naive_records,
            "freshness rate records/s": FRESHNESS_RATE,
            "server workers": 1,
            "server CPUs": SERVER_CPUS or "any",
            "wrk threads": 1,
            "wrk CPUs": LOAD_CPUS or "any",
        }


@dataclass(frozen=True)
class Contender:
    """One side of a comparison: a server and its wrk script, or a non-HTTP rate (``measure``)."""

    key: str
    label: str
    server: Server | None = None
    script: Path | None = None
    connections: int = SINGLE_CONNECTIONS
    rows: int = 1
    measure: Callable[[float], float] | None = None  # seconds -> rows/s
    after: Callable[[], Drain] | None = None  # after each slice, e.g. drain the outbox


class InProcess:
    """A long-lived ``python -m bench.inprocess --serve`` (model loaded once), pinned like the servers."""

    def __init__(self) -> None:
        command = pinned([sys.executable, "-m", "bench.inprocess", "--serve"], SERVER_CPUS)
        self._process = subprocess.Popen(
            command, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def rows_per_s(self, seconds: float) -> float:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(f"{seconds}\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise ServerError(f"the in-process benchmark exited with {self._process.wait(10)}")
        return float(orjson.loads(line)["rows_per_s"])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(30)


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
        peers = 0 if "peer" in self.settings.skip else 2
        contenders = (3 + peers) + (3 + peers)  # single-row group + batch group
        e2e_steps = 0 if "e2e" in self.settings.skip else 4
        global_steps = 0 if "global" in self.settings.skip else 1
        return 2 + contenders * self.settings.slices + e2e_steps + global_steps

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

    def _wrk(self, contender: Contender, seconds: float) -> WrkResult:
        assert contender.server is not None
        assert contender.script is not None
        return run_wrk(
            contender.server.base_url,
            contender.script,
            connections=contender.connections,
            seconds=seconds,
            cpus=LOAD_CPUS,
        )

    def interleave(self, title: str, contenders: list[Contender]) -> dict[str, list[Any]]:
        """Every contender's slices, in turn; ``runs[key]`` per slice, ``runs[key + ":after"]`` too."""
        runs: dict[str, list[Any]] = {}
        for contender in contenders:
            self.step(f"{title}: warming up {contender.label}")
            if contender.measure is not None:
                contender.measure(self.settings.warmup)
            else:
                self._wrk(contender, self.settings.warmup)
            if contender.after is not None:
                contender.after()
        n = self.settings.slices
        for index in range(n):
            for contender in contenders:
                self.step(f"{title}: {contender.label} ({index + 1}/{n})")
                if contender.measure is not None:
                    result: Any = contender.measure(self.settings.slice)
                else:
                    result = self._wrk(contender, self.settings.slice)
                runs.setdefault(contender.key, []).append(result)
                if contender.after is not None:
                    runs.setdefault(contender.key + ":after", []).append(contender.after())
                self.done()
        for contender in contenders:
            self.log("  " + _summary(title, contender, runs[contender.key]))
        return runs

    def drain(self, server: Server, timeout: float = 300.0) -> Drain:
        """Wait until the app's outbox is empty (the relay caught up); the time and CPU it took.

        The CPU is the relay's work the slice left behind; the wall time also counts the
        relay's idle pauses (it looks at a quiet outbox every half second).
        """
        started = time.monotonic()
        cpu_before = server.cpu_seconds()
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            while True:
                depth = client.get("/readyz").json()["checks"]["outbox"]["depth"]
                if depth == 0:
                    return Drain(time.monotonic() - started, server.cpu_seconds() - cpu_before)
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"{server.name}: outbox holds {depth} records after {timeout:.0f}s")
                time.sleep(0.05)

    def _breakdown(self) -> dict[str, float]:
        """Microseconds per 1,000-row request, stage by stage (bench/breakdown.py)."""
        self.step("where a 1,000-row request's time goes (bench/breakdown.py)")
        completed = subprocess.run(
            pinned([sys.executable, "-m", "bench.breakdown"], SERVER_CPUS),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
        stages: dict[str, float] = orjson.loads(completed.stdout)
        total = sum(stages.values())
        for name, micros in stages.items():
            self.log(f"  {micros / 1000:7.2f} ms {micros / total:6.1%}  {name}")
        self.done()
        return stages

    # figures 1-5 ----------------------------------------------------------------
    def serving_figures(self) -> list[Figure]:
        # The queue stands for a cloud service: it runs beside the load generator, not on the
        # servers' core, whose CPU the figures are about.
        azurite = Azurite.on_free_ports(self.work / "azurite", cpus=LOAD_CPUS)
        started: list[Server] = []
        inprocess: InProcess | None = None

        def start(server: Server, timeout: float = 120.0) -> Server:
            self.step(f"starting {server.name}")
            started.append(server)
            return server.start(timeout)

        try:
            self.step("starting Azurite")
            azurite.start()
            edge = azurite.connection_string("edge")
            app = servers.scoring_app
            on = start(app(self.work, "on", self.model_dir, API_KEY, edge, "bench-q", relay=True))
            off = start(app(self.work, "off", self.model_dir, API_KEY, edge, "bench-q", relay=False))
            naive = start(servers.naive_app(self.work, self.model_dir))
            peer: Server | None = None
            peer_note = ""
            if "peer" not in self.settings.skip:
                try:
                    peer = start(servers.bentoml_server(self.work, self.model_dir), timeout=240)
                except ServerError as exc:
                    peer_note = f"BentoML did not start: {str(exc)[:200]}"
                    self.log(f"[red]{peer_note}[/]")
            inprocess = InProcess()
            self.done()
            runs = self._single_row(on, off, naive, peer)
            runs |= self._batch(on, off, peer, inprocess)
            self.breakdown = self._breakdown()
            memory = {
                "on": on.peak_rss_mb(),
                "naive": naive.peak_rss_mb(),
                "peer": max(servers.vm_hwm_kib(p) for p in peer.processes()[1:]) / 1024 if peer else None,
            }
        finally:
            if inprocess is not None:
                inprocess.close()
            for server in reversed(started):
                server.stop()
            azurite.stop()
        return serving_figures(runs, memory, peer_note)

    def _single_row(
        self, on: Server, off: Server, naive: Server, peer: Server | None
    ) -> dict[str, list[Any]]:
        ours = self.script("ours-single", "/api/v1/score", self.single, key=True)
        contenders = [
            Contender("naive", "naive app", naive, self.script("naive-single", "/predict", self.flat)),
            Contender("on", "ours", on, ours, after=lambda: self.drain(on)),
            Contender("off", "ours, relay off", off, ours),
        ]
        if peer is not None:
            for endpoint in ("predict", "predict_batched"):
                script = self.script(f"peer-{endpoint}-single", f"/{endpoint}", self.single)
                contenders.append(Contender(f"peer-{endpoint}", f"BentoML /{endpoint}", peer, script))
        return self.interleave("single row", contenders)

    def _batch(
        self, on: Server, off: Server, peer: Server | None, inprocess: InProcess
    ) -> dict[str, list[Any]]:
        ours = self.script("ours-batch", "/api/v1/score", self.batch, key=True)
        rows, conns = BATCH_ROWS, BATCH_CONNECTIONS
        contenders = [
            Contender("batch", "ours", on, ours, conns, rows, after=lambda: self.drain(on)),
            Contender("batch-off", "ours, relay off", off, ours, conns, rows),
            Contender("inprocess", "in-process onnxruntime", measure=inprocess.rows_per_s, rows=rows),
        ]
        if peer is not None:
            for endpoint in ("predict", "predict_batched"):
                script = self.script(f"peer-{endpoint}-batch", f"/{endpoint}", self.batch)
                contenders.append(
                    Contender(f"peer-batch-{endpoint}", f"BentoML /{endpoint}", peer, script, conns, rows)
                )
        return self.interleave("1,000-row requests", contenders)


def _summary(title: str, contender: Contender, results: list[Any]) -> str:
    if contender.measure is not None:
        return f"{title}, {contender.label}: {sum(results) / len(results):,.0f} rows/s"
    total = combine(results)
    rate = total.requests_per_s * contender.rows
    unit = "rows/s" if contender.rows > 1 else "req/s"
    warn = "" if total.ok else f" [red]{total.non_2xx} non-2xx, {total.socket_errors} socket errors[/]"
    return f"{title}, {contender.label}: {rate:,.0f} {unit}, p99 {total.p99_ms:.1f} ms{warn}"
