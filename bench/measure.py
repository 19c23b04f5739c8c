"""How the serving figures are measured: wrk slices interleaved between the compared servers.

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
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.progress import Progress

from bench.rows import REPO_ROOT, batches, demo_rows, flat_bodies, rows_bodies
from bench.servers import SERVER_CPUS, Server, ServerError
from bench.serving_figures import BATCH_CONNECTIONS, BATCH_ROWS, SINGLE_CONNECTIONS, combine
from bench.wrk import WrkResult, run_wrk, write_script

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
    # Whose scoring app the figures measure (its own .venv and demo model): this checkout, or
    # another one measured by this harness (``--app-tree``; docs/benchmarks.md, issue 11).
    app_tree: Path = REPO_ROOT

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
            **({} if self.app_tree == REPO_ROOT else {"scoring app from": self.app_tree.name}),
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


class Bench:
    def __init__(self, settings: Settings, work: Path, progress: Progress) -> None:
        self.settings = settings
        self.work = work
        self.progress = progress
        self.model_dir = REPO_ROOT / "var" / "models" / "demo"
        self.app_model_dir = settings.app_tree / "var" / "models" / "demo"  # the scoring app's
        for model_dir in {self.model_dir, self.app_model_dir}:
            if not (model_dir / "manifest.json").exists():
                raise ServerError(f"no demo model in {model_dir}: run `make model`")
        rows = demo_rows()
        self.single = rows_bodies(batches(rows, 1, 512))
        self.flat = flat_bodies(rows[:512])
        self.batch = rows_bodies(batches(rows, BATCH_ROWS, 16))
        self.task = progress.add_task("starting", total=self._total_steps())
        self.breakdown: dict[str, float] = {}

    def _total_steps(self) -> int:
        peers = 0 if "peer" in self.settings.skip else 2
        contenders = (4 + peers) + (3 + peers)  # single-row group + batch group
        e2e_steps = 0 if "e2e" in self.settings.skip else 4
        global_steps = 0 if "global" in self.settings.skip else 1
        models_steps = 0 if "models" in self.settings.skip else 1
        return 2 + contenders * self.settings.slices + e2e_steps + global_steps + models_steps

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


def _summary(title: str, contender: Contender, results: list[Any]) -> str:
    if contender.measure is not None:
        return f"{title}, {contender.label}: {sum(results) / len(results):,.0f} rows/s"
    total = combine(results)
    rate = total.requests_per_s * contender.rows
    unit = "rows/s" if contender.rows > 1 else "req/s"
    warn = "" if total.ok else f" [red]{total.non_2xx} non-2xx, {total.socket_errors} socket errors[/]"
    return f"{title}, {contender.label}: {rate:,.0f} {unit}, p99 {total.p99_ms:.1f} ms{warn}"
