"""Figure 6: end-to-end throughput against the naive pipeline, and freshness at a steady rate."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import httpx

from bench import e2e, servers
from bench.measure import API_KEY, FRESHNESS_RATE, Bench
from bench.report import Figure
from bench.servers import Server
from bench.serving_figures import BATCH_CONNECTIONS, BATCH_ROWS, wrk_errors
from bench.wrk import WrkResult, run_wrk, write_script
from localdev.azurite import Azurite, stop_process_group

QUEUE = "bench-e2e-insights"
SITE = "bench-e2e"  # the scoring app named "e2e" scores as site "bench-e2e"


@dataclass(frozen=True)
class OursEndToEnd:
    """Ours from the first request to the last record in a compliant blob, and freshness at a steady rate."""

    fresh: e2e.Freshness
    records: int
    seconds: float
    load: list[WrkResult]

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def end_to_end_figures(bench: Bench) -> list[Figure]:
    azurite = Azurite.on_free_ports(bench.work / "azurite-e2e")
    bench.step("end to end: starting Azurite, the scoring app and the edge Functions host")
    azurite.start()
    edge, cloud = azurite.connection_string("edge"), azurite.connection_string("cloud")
    try:
        ours = _ours(bench, edge, cloud)
        naive = _naive(bench, edge, cloud)
    finally:
        azurite.stop()
    return _figures(bench, ours, naive)


def _ours(bench: Bench, edge: str, cloud: str) -> OursEndToEnd:
    host: subprocess.Popen[bytes] | None = None
    app = servers.scoring_app(bench.work, "e2e", bench.model_dir, API_KEY, edge, QUEUE, relay=True)
    blobs = e2e.CompliantBlobs(cloud, SITE)
    try:
        host = e2e.start_edge_host(bench.work, edge, cloud, QUEUE, "benche2e")
        app.start()
        _warm_up(bench, app, blobs, host)
        blobs.watch()
        bench.done()
        fresh = _freshness(bench, app, blobs)
        return _burst(bench, app, blobs, fresh)
    finally:
        blobs.stop_watching()
        app.stop()
        if host is not None:
            stop_process_group(host, timeout=40.0)


def _freshness(bench: Bench, app: Server, blobs: e2e.CompliantBlobs) -> e2e.Freshness:
    bench.step(f"end to end: freshness at a steady {FRESHNESS_RATE:.0f} records/s")
    bodies = bench.work / "freshness.bodies"
    bodies.write_bytes(b"\n".join(bench.single) + b"\n")
    url = app.base_url + "/api/v1/score"
    seconds = bench.settings.freshness_seconds
    fresh = e2e.measure_freshness(blobs, url, API_KEY, bodies, FRESHNESS_RATE, seconds)
    bench.log(
        f"  freshness at {fresh.rate:.0f} records/s: p50 {fresh.p50_s:.2f} s, "
        f"p95 {fresh.p95_s:.2f} s, max {fresh.max_s:.2f} s ({fresh.records} records)"
    )
    bench.done()
    return fresh


def _burst(bench: Bench, app: Server, blobs: e2e.CompliantBlobs, fresh: e2e.Freshness) -> OursEndToEnd:
    bench.step(f"end to end: ours, {bench.settings.e2e_burst:.0f} s of 1,000-row requests to blobs")
    script = write_script(bench.work, "e2e-batch", "/api/v1/score", bench.batch, {"X-API-Key": API_KEY})
    load: list[WrkResult] = []

    def send() -> int:
        seconds = bench.settings.e2e_burst
        result = run_wrk(app.base_url, script, connections=BATCH_CONNECTIONS, seconds=seconds)
        load.append(result)
        return result.requests * BATCH_ROWS if result.ok else 0

    records, took = e2e.ours_burst(blobs, send)
    bench.log(f"  ours: {records:,} records in compliant blobs {took:.1f} s after the first request")
    bench.done()
    return OursEndToEnd(fresh, records, took, load)


def _naive(bench: Bench, edge: str, cloud: str) -> float:
    """Records/s through the naive pipeline."""
    bench.step(f"end to end: naive pipeline, {bench.settings.naive_records} records")
    naive_seconds = e2e.naive_burst(bench.work, edge, cloud, bench.settings.naive_records)
    bench.log(f"  naive: {bench.settings.naive_records} records in blobs after {naive_seconds:.1f} s")
    bench.done()
    return bench.settings.naive_records / naive_seconds


def _figures(bench: Bench, ours: OursEndToEnd, naive: float) -> list[Figure]:
    fresh = ours.fresh
    return [
        Figure(
            "e2e",
            "6. end to end: ours / naive pipeline",
            ours.rate / naive,
            "x",
            ">= 20",
            f"records/s from the first request to the last record in a compliant blob: ours {ours.rate:,.0f} "
            f"({ours.records:,} records, {bench.settings.e2e_burst:.0f} s of 1,000-row requests on "
            f"{BATCH_CONNECTIONS} connections, then scoring app relay + Functions host drain) vs naive "
            f"{naive:,.1f} ({bench.settings.naive_records} records, a queue message and a blob each), "
            "same Azurite",
            wrk_errors(*ours.load),
        ),
        Figure(
            "freshness",
            "6. freshness p95 (scored_at to blob)",
            fresh.p95_s,
            "s",
            "",
            f"at {fresh.rate:.0f} records/s (single-row requests, steady) with host.json polling "
            f"(maxPollingInterval 2 s): p50 {fresh.p50_s:.2f} s, max {fresh.max_s:.2f} s, "
            f"{fresh.records} records",
        ),
    ]


def _warm_up(bench: Bench, app: Server, blobs: e2e.CompliantBlobs, host: subprocess.Popen[bytes]) -> None:
    """A few records through the whole pipeline: the Functions host is up and polling."""
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    with httpx.Client(base_url=app.base_url, timeout=30, headers=headers) as client:
        for body in bench.single[:5]:
            client.post("/api/v1/score", content=body).raise_for_status()

    def arrived() -> bool:
        if host.poll() is not None:
            raise e2e.PipelineError(f"the Functions host exited with {host.returncode}")
        return sum(len(blobs.records(name)) for name in blobs.names()) >= 5

    e2e.wait_for(arrived, 120, "the warm-up records in compliant blobs", interval=0.5)
