"""Figures 1-5 from the serving measurements: ratios of rates measured in the same round."""

from __future__ import annotations

import statistics
from typing import Any

from bench.report import Figure
from bench.wrk import WrkResult

BATCH_CONNECTIONS = 8
BATCH_ROWS = 1000
SINGLE_CONNECTIONS = 32


def mean(values: list[float]) -> float:
    return statistics.fmean(values)


def spread(values: list[float], digits: int = 2) -> str:
    """Per-round values, for the record."""
    return "rounds " + ", ".join(f"{v:.{digits}f}" for v in values)


def wrk_errors(*results: WrkResult) -> str:
    bad = [r for r in results if not r.ok]
    if not bad:
        return ""
    non_2xx = sum(r.non_2xx for r in bad)
    sockets = sum(r.socket_errors for r in bad)
    return f"INVALID: {non_2xx} non-2xx responses, {sockets} socket errors"


def serving_figures(
    runs: dict[str, list[Any]], memory: dict[str, float | None], peer_note: str, n: int
) -> list[Figure]:
    on: list[WrkResult] = runs["on"]
    off: list[WrkResult] = runs["off"]
    naive: list[WrkResult] = runs["naive"]
    batch: list[WrkResult] = runs["batch"]
    batch_rows = [r.requests_per_s * BATCH_ROWS for r in batch]
    figures = []

    ratios = [batch_rows[i] / runs["inprocess"][i] for i in range(n)]
    figures.append(
        Figure(
            "batch",
            "1. batch: HTTP / in-process onnxruntime",
            mean(ratios),
            "x",
            ">= 0.25",
            f"ours {mean(batch_rows):,.0f} rows/s over HTTP ({BATCH_CONNECTIONS} connections, "
            f"1,000-row requests, outbox + relay to Azurite; relay caught up "
            f"{mean(runs['drain']):.1f} s after the load; relay off: "
            f"{mean([r.requests_per_s * BATCH_ROWS for r in runs['batch-off']]):,.0f} rows/s) vs "
            f"in-process {mean(runs['inprocess']):,.0f} rows/s; {spread(ratios)}",
            wrk_errors(*batch),
        )
    )

    ratios = [on[i].requests_per_s / naive[i].requests_per_s for i in range(n)]
    p99_on = statistics.median(r.p99_ms for r in on)
    p99_naive = statistics.median(r.p99_ms for r in naive)
    figures.append(
        Figure(
            "single",
            "2. single row: ours / naive FastAPI app",
            mean(ratios),
            "x",
            ">= 1.8",
            f"ours {mean([r.requests_per_s for r in on]):,.0f} req/s vs naive "
            f"{mean([r.requests_per_s for r in naive]):,.0f} req/s at {SINGLE_CONNECTIONS} connections; "
            f"{spread(ratios)}",
            wrk_errors(*on, *naive),
        )
    )
    figures.append(
        Figure(
            "single-p99",
            "2. single row p99: ours / naive",
            p99_on / p99_naive,
            "x",
            "<= 1.0",
            f"p99 ours {p99_on:.1f} ms vs naive {p99_naive:.1f} ms (median of rounds)",
        )
    )
    figures += peer_figures(runs, batch_rows, peer_note, n)

    ratios = [on[i].requests_per_s / off[i].requests_per_s for i in range(n)]
    figures.append(
        Figure(
            "insights-cost",
            "4. insights cost: relay on / off",
            mean(ratios),
            "x",
            ">= 0.9",
            f"single row: relay on {mean([r.requests_per_s for r in on]):,.0f} req/s, off "
            f"{mean([r.requests_per_s for r in off]):,.0f} req/s (SCORING_RELAY_ENABLED=false); "
            f"{spread(ratios)}",
            "no setting turns the outbox off: both sides write it"
            + ("; " + wrk_errors(*off) if wrk_errors(*off) else ""),
        )
    )
    others = f"naive app {memory['naive']:.0f} MiB"
    if memory["peer"] is not None:
        others += f", BentoML worker {memory['peer']:.0f} MiB"
    figures.append(
        Figure(
            "memory",
            "5. peak RSS of the scoring app",
            memory["on"],
            "MiB",
            "<= 250",
            f"VmHWM of the one worker after every load above, demo model ({others})",
        )
    )
    return figures


def peer_figures(runs: dict[str, list[Any]], batch_rows: list[float], peer_note: str, n: int) -> list[Figure]:
    if "peer-predict" not in runs:
        note = peer_note or "skipped"
        return [
            Figure("peer-single", "3. single row: ours / BentoML", None, "x", ">= 5", note=note),
            Figure("peer-batch", "3. batch: ours / BentoML", None, "x", ">= 1.5", note=note),
        ]
    on: list[WrkResult] = runs["on"]
    best_single = [
        max(runs["peer-predict"][i].requests_per_s, runs["peer-predict_batched"][i].requests_per_s)
        for i in range(n)
    ]
    best_batch = [
        max(
            runs["peer-batch-predict"][i].requests_per_s,
            runs["peer-batch-predict_batched"][i].requests_per_s,
        )
        * BATCH_ROWS
        for i in range(n)
    ]
    single_ratios = [on[i].requests_per_s / best_single[i] for i in range(n)]
    batch_ratios = [batch_rows[i] / best_batch[i] for i in range(n)]

    def rate(name: str, rows: int = 1) -> str:
        return f"{mean([r.requests_per_s * rows for r in runs[name]]):,.0f}"

    peer_runs = [r for key, values in runs.items() if key.startswith("peer") for r in values]
    return [
        Figure(
            "peer-single",
            "3. single row: ours / BentoML",
            mean(single_ratios),
            "x",
            ">= 5",
            f"ours {rate('on')} req/s vs BentoML best of /predict {rate('peer-predict')} and "
            f"/predict_batched (adaptive batching) {rate('peer-predict_batched')} req/s; "
            f"p99 BentoML {statistics.median(r.p99_ms for r in runs['peer-predict']):.1f} / "
            f"{statistics.median(r.p99_ms for r in runs['peer-predict_batched']):.1f} ms; "
            f"{spread(single_ratios)}",
            wrk_errors(*peer_runs),
        ),
        Figure(
            "peer-batch",
            "3. batch: ours / BentoML",
            mean(batch_ratios),
            "x",
            ">= 1.5",
            f"ours {mean(batch_rows):,.0f} rows/s vs BentoML best of /predict "
            f"{rate('peer-batch-predict', BATCH_ROWS)} and /predict_batched "
            f"{rate('peer-batch-predict_batched', BATCH_ROWS)} rows/s; {spread(batch_ratios)}",
            wrk_errors(*peer_runs),
        ),
    ]
