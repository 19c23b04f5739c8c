"""Figures 1-5 measured: the servers up, the single-row and batch groups interleaved, all stopped.

The single-row group is ours (relay on, relay off), the naive app, the HTTP
stack's limit (bench/bare_app.py answering one of our own single-row answers)
and BentoML's two endpoints; the batch group is ours, in-process onnxruntime
and BentoML. The figures themselves are computed in bench/serving_figures.py.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench import servers
from bench.measure import API_KEY, LOAD_CPUS, Bench, Contender
from bench.report import Figure
from bench.rows import REPO_ROOT
from bench.servers import SERVER_CPUS, Server, ServerError, pinned
from bench.serving_figures import BATCH_CONNECTIONS, BATCH_ROWS, serving_figures
from localdev.azurite import Azurite


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


@dataclass
class Lineup:
    """The servers the serving figures compare; ``started`` is every one started, to stop."""

    bench: Bench
    started: list[Server] = field(default_factory=list)
    peer: Server | None = None
    peer_note: str = ""
    fixed_body: bytes = b""  # the HTTP stack's limit's answer: one of ours

    def start(self, server: Server, timeout: float = 120.0) -> Server:
        self.bench.step(f"starting {server.name}")
        self.started.append(server)
        return server.start(timeout)

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()

    def server(self, name: str) -> Server:
        return next(server for server in self.started if server.name == name)


def run(bench: Bench) -> list[Figure]:
    """Figures 1-5; sets ``bench.breakdown`` (where a 1,000-row request's time goes) on the way."""
    # The queue stands for a cloud service: it runs beside the load generator, not on the
    # servers' core, whose CPU the figures are about.
    azurite = Azurite.on_free_ports(bench.work / "azurite", cpus=LOAD_CPUS)
    lineup = Lineup(bench)
    inprocess: InProcess | None = None
    try:
        bench.step("starting Azurite")
        azurite.start()
        _start_servers(lineup, azurite.connection_string("edge"))
        inprocess = InProcess()
        bench.done()
        runs = _single_row(bench, lineup)
        runs |= _batch(bench, lineup, inprocess)
        bench.breakdown = _breakdown(bench)
        memory = _memory(lineup)
    finally:
        if inprocess is not None:
            inprocess.close()
        lineup.stop()
        azurite.stop()
    return serving_figures(runs, memory, lineup.peer_note, fixed_body_bytes=len(lineup.fixed_body))


def _start_servers(lineup: Lineup, edge: str) -> None:
    bench = lineup.bench
    app = servers.scoring_app
    tree, model_dir = bench.settings.app_tree, bench.app_model_dir
    lineup.start(app(bench.work, "on", model_dir, API_KEY, edge, "bench-q", relay=True, tree=tree))
    off = lineup.start(app(bench.work, "off", model_dir, API_KEY, edge, "bench-q", relay=False, tree=tree))
    lineup.start(servers.naive_app(bench.work, bench.model_dir))
    lineup.fixed_body = _single_row_answer(off, bench.single[0])
    lineup.start(servers.bare_app(bench.work, lineup.fixed_body))
    if "peer" not in bench.settings.skip:
        try:
            lineup.peer = lineup.start(servers.bentoml_server(bench.work, bench.model_dir), timeout=240)
        except ServerError as exc:
            lineup.peer_note = f"BentoML did not start: {str(exc)[:200]}"
            bench.log(f"[red]{lineup.peer_note}[/]")


def _single_row_answer(server: Server, body: bytes) -> bytes:
    """The scoring app's answer to one single-row request (the relay-off server: nothing is sent on)."""
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    with httpx.Client(base_url=server.base_url, timeout=30, headers=headers) as client:
        answer = client.post("/api/v1/score", content=body)
    if answer.status_code != 200:
        raise ServerError(f"{server.name} answered {answer.status_code} to a single row: {answer.text[:200]}")
    return answer.content


def _single_row(bench: Bench, lineup: Lineup) -> dict[str, list[Any]]:
    on, off = lineup.server("on"), lineup.server("off")
    ours = bench.script("ours-single", "/api/v1/score", bench.single, key=True)
    naive = bench.script("naive-single", "/predict", bench.flat)
    contenders = [
        Contender("naive", "naive app", lineup.server("naive"), naive),
        Contender("on", "ours", on, ours, after=lambda: bench.drain(on)),
        Contender("off", "ours, relay off", off, ours),
        # The same requests as ours: the limit reads them as any app must.
        Contender("limit", "bare ASGI app (the HTTP stack's limit)", lineup.server("bare"), ours),
    ]
    if lineup.peer is not None:
        for endpoint in ("predict", "predict_batched"):
            script = bench.script(f"peer-{endpoint}-single", f"/{endpoint}", bench.single)
            contenders.append(Contender(f"peer-{endpoint}", f"BentoML /{endpoint}", lineup.peer, script))
    return bench.interleave("single row", contenders)


def _batch(bench: Bench, lineup: Lineup, inprocess: InProcess) -> dict[str, list[Any]]:
    on, off, peer = lineup.server("on"), lineup.server("off"), lineup.peer
    ours = bench.script("ours-batch", "/api/v1/score", bench.batch, key=True)
    rows, conns = BATCH_ROWS, BATCH_CONNECTIONS
    contenders = [
        Contender("batch", "ours", on, ours, conns, rows, after=lambda: bench.drain(on)),
        Contender("batch-off", "ours, relay off", off, ours, conns, rows),
        Contender("inprocess", "in-process onnxruntime", measure=inprocess.rows_per_s, rows=rows),
    ]
    if peer is not None:
        for endpoint in ("predict", "predict_batched"):
            script = bench.script(f"peer-{endpoint}-batch", f"/{endpoint}", bench.batch)
            contenders.append(
                Contender(f"peer-batch-{endpoint}", f"BentoML /{endpoint}", peer, script, conns, rows)
            )
    return bench.interleave("1,000-row requests", contenders)


def _breakdown(bench: Bench) -> dict[str, float]:
    """Microseconds per 1,000-row request, stage by stage (bench/breakdown.py)."""
    bench.step("where a 1,000-row request's time goes (bench/breakdown.py)")
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
        bench.log(f"  {micros / 1000:7.2f} ms {micros / total:6.1%}  {name}")
    bench.done()
    return stages


def _memory(lineup: Lineup) -> dict[str, float | None]:
    peer = lineup.peer
    return {
        "on": lineup.server("on").peak_rss_mb(),
        "naive": lineup.server("naive").peak_rss_mb(),
        "peer": max(servers.vm_hwm_kib(p) for p in peer.processes()[1:]) / 1024 if peer else None,
    }
