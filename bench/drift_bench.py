"""What drift at the edge costs the scoring path: rows/s with the drift monitor on and off, same run.

``python -m bench.drift_bench [--seconds S] [--rounds R]``. The scoring use case
(``ScoringService.score``: ``evaluate`` with onnxruntime, the insights committed to a
real SQLite outbox, synchronous NORMAL so the disk flatters drift's share least) on
rows already validated into columns, twice in one process and one thread: without a
drift monitor, and with one (window 1,000 rows) that each scoring feeds. Single rows
and 1,000-row batches, in pairs of short slices (off, then on) that a shared machine's load
hits alike; the figure is the median of the pairs' on / off (target >= 0.98: at most 2%
cost). Besides:
one ``observe`` call and one uncached ``summary`` (what a read of /metrics, /readyz or
the heartbeat costs every ``SCORING_DRIFT_CACHE_SECONDS``). The model: ``var/models/demo``
when its manifest has a training profile, else the failure-mode example trained now.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from statistics import median
from typing import Any

from bench.models_bench import _bundle
from bench.report import Figure
from bench.rows import REPO_ROOT, batches, demo_rows
from bench.slices import median_ratio, paired_rates, rotating
from edgeloop.adapters.onnx_model import BundleError, OnnxModel
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.domain.validation import FeatureColumns, validate_rows
from edgeloop.service_layer.drift_monitor import DriftMonitor
from edgeloop.service_layer.scoring import ScoringService

BATCH_ROWS = 1000
BATCHES = 8
WINDOW_ROWS = 1000


@dataclass(frozen=True)
class DriftCost:
    rows: int  # per call
    off_rows_per_s: float  # median slice
    on_rows_per_s: float
    ratio: float  # the median of the pairs' on / off


@dataclass(frozen=True)
class DriftFigures:
    model: str
    costs: list[DriftCost]
    observe_us: dict[int, float]  # rows per call -> microseconds per observe
    summary_ms: float


def _model(work: Path) -> OnnxModel:
    demo = REPO_ROOT / "var" / "models" / "demo"
    try:
        model = OnnxModel.load(demo, intra_op_threads=1)
    except BundleError:
        model = None
    if model is None or model.manifest.drift is None:
        model = OnnxModel.load(_bundle("failure-mode", work), intra_op_threads=1)
    return model


def _scorer(service: ScoringService, model: OnnxModel, columns: list[FeatureColumns]) -> Callable[[], Any]:
    return rotating(partial(service.score, model), columns)


def measure_cost(
    model: OnnxModel, columns: list[FeatureColumns], work: Path, seconds: float, rounds: int
) -> DriftCost:
    """``rounds`` pairs of short slices (off and on, in turn first); each side's median rate, the
    pairs' median ratio."""
    monitor = DriftMonitor(model.manifest, window_rows=WINDOW_ROWS, min_rows=1, cache_seconds=5.0)
    runs: dict[str, Callable[[], Any]] = {}
    for side, drift in (("off", None), ("on", monitor)):
        path = work / f"outbox-{side}-{columns[0].n_rows}.sqlite3"
        outbox = SqliteOutbox(path, 10**9, synchronous="NORMAL")
        runs[side] = _scorer(ScoringService(outbox, "bench-site", drift=drift), model, columns)
    off, on = paired_rates(runs["off"], runs["on"], columns[0].n_rows, seconds, rounds)
    return DriftCost(columns[0].n_rows, median(off), median(on), median_ratio(off, on))


def _observe_us(model: OnnxModel, columns: FeatureColumns, calls: int = 2000) -> float:
    monitor = DriftMonitor(model.manifest, window_rows=WINDOW_ROWS, min_rows=1)
    started = time.perf_counter()
    for _ in range(calls):
        monitor.observe(columns)
    return (time.perf_counter() - started) / calls * 1e6


def _summary_ms(model: OnnxModel, columns: FeatureColumns, calls: int = 20) -> float:
    monitor = DriftMonitor(model.manifest, window_rows=WINDOW_ROWS, min_rows=1, cache_seconds=0.0)
    monitor.observe(columns)
    started = time.perf_counter()
    for _ in range(calls):
        monitor.summary()
    return (time.perf_counter() - started) / calls * 1e3


def measure(seconds: float = 6.0, rounds: int = 30) -> DriftFigures:
    with tempfile.TemporaryDirectory(prefix="edgeloop-drift-bench-") as tmp:
        work = Path(tmp)
        model = _model(work)
        rows = demo_rows()
        by_size = {
            size: [validate_rows(model.manifest, batch) for batch in batches(rows, size, BATCHES)]
            for size in (1, BATCH_ROWS)
        }
        costs = [measure_cost(model, columns, work, seconds, rounds) for columns in by_size.values()]
        observe = {size: _observe_us(model, columns[0]) for size, columns in by_size.items()}
        return DriftFigures(
            f"{model.manifest.name} {model.manifest.version}",
            costs,
            observe,
            _summary_ms(model, by_size[BATCH_ROWS][0]),
        )


def observe_share(cost: DriftCost, measured: DriftFigures) -> float:
    """One observe call's time as a share of one scoring's (drift off): the direct cost."""
    return measured.observe_us[cost.rows] * 1e-6 * cost.off_rows_per_s / cost.rows


def figures(measured: DriftFigures) -> list[Figure]:
    """For ``python -m bench``: the scoring path's rate with drift on, as a share of off."""
    return [
        Figure(
            f"drift_{'single' if cost.rows == 1 else 'batch'}",
            f"11. drift monitor on / off, {cost.rows:,}-row scorings ({measured.model})",
            cost.ratio,
            "x",
            ">= 0.98",
            f"ScoringService.score in process, SQLite outbox NORMAL: off {cost.off_rows_per_s:,.0f} rows/s, "
            f"on {cost.on_rows_per_s:,.0f} rows/s; observe {measured.observe_us[cost.rows]:.1f} us/call "
            f"({observe_share(cost, measured):.2%} of a scoring); summary (uncached, {WINDOW_ROWS:,} rows) "
            f"{measured.summary_ms:.2f} ms",
        )
        for cost in measured.costs
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drift_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per size, both sides")
    parser.add_argument("--rounds", type=int, default=30, help="pairs of slices; the median ratio counts")
    args = parser.parse_args(argv)
    measured = measure(args.seconds, args.rounds)
    print(f"model: {measured.model}")
    print("| rows per scoring | drift off rows/s | drift on rows/s | on / off | observe us/call | share |")
    print("| --- | --- | --- | --- | --- | --- |")
    for cost in measured.costs:
        print(
            f"| {cost.rows:,} | {cost.off_rows_per_s:,.0f} | {cost.on_rows_per_s:,.0f} | "
            f"{cost.ratio:.3f} | {measured.observe_us[cost.rows]:.1f} | {observe_share(cost, measured):.2%} |"
        )
    print(f"summary, uncached, {WINDOW_ROWS:,} rows: {measured.summary_ms:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
