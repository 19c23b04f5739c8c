"""Figures 1-5 from the interleaved serving measurements.

A rate is the sum of a contender's slice requests over the sum of their
seconds; a ratio is two such rates. The per-slice ratios (adjacent slices of
the two sides) are shown as their range, for the noise.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.report import Figure
from bench.wrk import WrkResult

BATCH_CONNECTIONS = 8
BATCH_ROWS = 1000
SINGLE_CONNECTIONS = 32


def combine(results: list[WrkResult]) -> WrkResult:
    """Slices of one contender as one result: counts summed, latency percentiles the slices' median."""
    return WrkResult(
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p90_ms=statistics.median(r.p90_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        max_ms=max(r.max_ms for r in results),
    )


def wrk_errors(*results: WrkResult) -> str:
    bad = [r for r in results if not r.ok]
    if not bad:
        return ""
    non_2xx = sum(r.non_2xx for r in bad)
    sockets = sum(r.socket_errors for r in bad)
    return f"INVALID: {non_2xx} non-2xx responses, {sockets} socket errors"


class Runs:
    """Per-slice results by contender key, with the aggregate rates the figures use."""

    def __init__(self, runs: dict[str, list[Any]]) -> None:
        self.runs = runs

    def __contains__(self, key: str) -> bool:
        return key in self.runs

    def result(self, key: str) -> WrkResult:
        return combine(self.runs[key])

    def rate(self, key: str, rows: int = 1) -> float:
        """Requests/s (or rows/s with ``rows``) over all slices; in-process figures are rows/s already."""
        values = self.runs[key]
        if values and not isinstance(values[0], WrkResult):
            return float(statistics.fmean(values))
        return self.result(key).requests_per_s * rows

    def slice_rates(self, key: str, rows: int = 1) -> list[float]:
        return [v if not isinstance(v, WrkResult) else v.requests_per_s * rows for v in self.runs[key]]

    def sustained_rates(self, key: str, rows: int) -> list[float]:
        """Per slice: its rows over its seconds plus the CPU seconds the relay took after it.

        The relay defers work past a short slice (it sends in bulk); a load that never
        stops would pay for it as it goes, so that CPU counts as time the load took.
        """
        drains = self.runs[key + ":after"]
        return [
            result.requests * rows / (result.seconds + drain.cpu_seconds)
            for result, drain in zip(self.runs[key], drains, strict=True)
        ]

    def sustained_rate(self, key: str, rows: int) -> float:
        """All slices' rows over their seconds plus the relay's CPU seconds after each."""
        results, drains = self.runs[key], self.runs[key + ":after"]
        seconds = sum(r.seconds for r in results) + sum(d.cpu_seconds for d in drains)
        return float(sum(r.requests for r in results) * rows / seconds)

    def spread(
        self, top: str, bottom: str, top_rows: int = 1, bottom_rows: int = 1, *, sustained: bool = False
    ) -> str:
        tops = self.sustained_rates(top, top_rows) if sustained else self.slice_rates(top, top_rows)
        pairs = zip(tops, self.slice_rates(bottom, bottom_rows), strict=True)
        ratios = [a / b for a, b in pairs]
        return f"slices {min(ratios):.2f}-{max(ratios):.2f}"

    def errors(self, *keys: str) -> str:
        return wrk_errors(*(r for key in keys for r in self.runs[key] if isinstance(r, WrkResult)))


def single_row_ratio(
    runs: Runs, other: str, head: tuple[str, str, str], measured: str, note: str = ""
) -> Figure:
    """Ratio figure ``head`` (key, name, target): ours / ``other``, the slices' range after ``measured``."""
    key, name, target = head
    detail = f"{measured}; {runs.spread('on', other)}"
    return Figure(key, name, runs.rate("on") / runs.rate(other), "x", target, detail, note)


def serving_figures(
    raw: dict[str, list[Any]], memory: dict[str, float | None], peer_note: str, *, fixed_body_bytes: int
) -> list[Figure]:
    """Figures 1-5; ``fixed_body_bytes`` is the length of the HTTP stack's limit's answer."""
    runs = Runs(raw)
    return [
        batch_figure(runs),
        *single_row_figures(runs, fixed_body_bytes),
        *peer_figures(runs, peer_note),
        insights_cost_figure(runs),
        memory_figure(memory),
    ]


def batch_figure(runs: Runs) -> Figure:
    rows = BATCH_ROWS
    drains = runs.runs["batch:after"]
    batch_spread = runs.spread("batch", "inprocess", rows, sustained=True)
    return Figure(
        "batch",
        "1. batch: HTTP / in-process onnxruntime",
        runs.sustained_rate("batch", rows) / runs.rate("inprocess"),
        "x",
        ">= 0.25",
        f"ours {runs.sustained_rate('batch', rows):,.0f} rows/s over HTTP, the relay's work "
        f"included ({BATCH_CONNECTIONS} connections, 1,000-row requests, outbox + relay to Azurite; "
        f"{runs.rate('batch', rows):,.0f} rows/s while the load ran, then the relay caught up in "
        f"{statistics.fmean(d.seconds for d in drains):.1f} s and "
        f"{statistics.fmean(d.cpu_seconds for d in drains):.2f} CPU s after each slice, counted as "
        f"time; relay off {runs.rate('batch-off', rows):,.0f} rows/s) vs in-process onnxruntime "
        f"{runs.rate('inprocess'):,.0f} rows/s; {batch_spread}",
        runs.errors("batch"),
    )


def single_row_figures(runs: Runs, fixed_body_bytes: int) -> list[Figure]:
    """Figure 2: ours / naive, then ours / the HTTP stack's limit beside it, then the p99s."""
    return [
        single_row_ratio(
            runs,
            "naive",
            ("single", "2. single row: ours / naive FastAPI app", ">= 1.8"),
            f"ours {runs.rate('on'):,.0f} req/s vs naive {runs.rate('naive'):,.0f} req/s at "
            f"{SINGLE_CONNECTIONS} connections",
            runs.errors("on", "naive"),
        ),
        limit_figure(runs, fixed_body_bytes),
        Figure(
            "single-p99",
            "2. single row p99: ours / naive",
            runs.result("on").p99_ms / runs.result("naive").p99_ms,
            "x",
            "<= 1.0",
            f"p99 ours {runs.result('on').p99_ms:.1f} ms vs naive {runs.result('naive').p99_ms:.1f} ms "
            "(median of the slices' p99)",
        ),
    ]


def limit_figure(runs: Runs, fixed_body_bytes: int) -> Figure:
    """Ours as a share of what the HTTP stack serves at most (bench/bare_app.py): no target, a context."""
    return single_row_ratio(
        runs,
        "limit",
        ("single-limit", "2. single row: ours / the HTTP stack's limit", ""),
        f"ours {runs.rate('on'):,.0f} req/s vs a bare ASGI app {runs.rate('limit'):,.0f} req/s "
        f"answering a fixed {fixed_body_bytes:,}-byte body (one of our single-row answers) to the same "
        f"requests, same uvicorn settings and CPU, {SINGLE_CONNECTIONS} connections",
        runs.errors("limit"),
    )


def insights_cost_figure(runs: Runs) -> Figure:
    return single_row_ratio(
        runs,
        "off",
        ("insights-cost", "4. insights cost: relay on / off", ">= 0.9"),
        f"single row: relay on {runs.rate('on'):,.0f} req/s, off {runs.rate('off'):,.0f} req/s "
        "(SCORING_RELAY_ENABLED=false)",
        "no setting turns the outbox off: both sides write it"
        + (f"; {runs.errors('off')}" if runs.errors("off") else ""),
    )


def memory_figure(memory: dict[str, float | None]) -> Figure:
    others = f"naive app {memory['naive']:.0f} MiB"
    if memory["peer"] is not None:
        others += f", BentoML worker {memory['peer']:.0f} MiB"
    return Figure(
        "memory",
        "5. peak RSS of the scoring app",
        memory["on"],
        "MiB",
        "<= 250",
        f"VmHWM of the one worker after every load above, demo model ({others})",
    )


def peer_figures(runs: Runs, peer_note: str) -> list[Figure]:
    if "peer-predict" not in runs:
        note = peer_note or "skipped"
        return [
            Figure("peer-single", "3. single row: ours / BentoML", None, "x", ">= 5", note=note),
            Figure("peer-batch", "3. batch: ours / BentoML", None, "x", ">= 1.5", note=note),
        ]
    rows = BATCH_ROWS
    single = max(("peer-predict", "peer-predict_batched"), key=runs.rate)
    batch = max(("peer-batch-predict", "peer-batch-predict_batched"), key=runs.rate)
    peer_keys = [k for k in runs.runs if k.startswith("peer")]
    return [
        single_row_ratio(
            runs,
            single,
            ("peer-single", "3. single row: ours / BentoML", ">= 5"),
            f"ours {runs.rate('on'):,.0f} req/s vs BentoML, the better of /predict "
            f"{runs.rate('peer-predict'):,.0f} req/s (p99 {runs.result('peer-predict').p99_ms:.0f} ms) and "
            f"/predict_batched (adaptive batching) {runs.rate('peer-predict_batched'):,.0f} req/s "
            f"(p99 {runs.result('peer-predict_batched').p99_ms:.0f} ms)",
            runs.errors(*peer_keys),
        ),
        Figure(
            "peer-batch",
            "3. batch: ours / BentoML",
            runs.rate("batch", rows) / runs.rate(batch, rows),
            "x",
            ">= 1.5",
            f"ours {runs.rate('batch', rows):,.0f} rows/s vs BentoML, the better of /predict "
            f"{runs.rate('peer-batch-predict', rows):,.0f} and /predict_batched "
            f"{runs.rate('peer-batch-predict_batched', rows):,.0f} rows/s; "
            f"{runs.spread('batch', batch, rows, rows)}",
            runs.errors(*peer_keys),
        ),
    ]
