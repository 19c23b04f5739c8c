"""The site heartbeat's cost on the scoring path: heartbeat on / off, in the same run (target >= 0.98).

Usage: ``.venv/bin/python -m bench.heartbeat_bench [--seconds S] [--slice S] [--interval S]``

The scoring path in process, as the routes run it (``validate_rows`` then ``ScoringService.score``:
the real model and a real SQLite outbox at FULL durability, one per side), for single-row and
1,000-row requests, one thread. The "on" side runs the real heartbeat thread into its own outbox
every ``--interval`` seconds (default 1: thirty times the default 30 s, so a cost would show);
the sides alternate in short slices (A B B A), so a burst of load from elsewhere hits both alike,
and the median of the per-slice ratios is the figure. Over HTTP the
heartbeat adds one comparison per answer (counting 5xx) besides. Prints the figures.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.rows import REPO_ROOT, batches, demo_rows
from bench.slices import paired_rates, rate
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.bootstrap.site_status import serving_ref
from edgeloop.domain.validation import validate_rows
from edgeloop.service_layer.scoring import ScoringService
from edgeloop.service_layer.site_status import HeartbeatThread, SiteHeartbeat, SiteReadings

TARGET = 0.98


def readings(model: OnnxModel, outbox: SqliteOutbox) -> SiteReadings:
    return SiteReadings(
        serving_model=lambda: serving_ref(model),
        champion_version=lambda: None,
        outbox_oldest_age=outbox.oldest_pending_age,
        relay_last_success=lambda: time.time(),
        relay_last_sent=lambda: None,
        relay_failures=lambda: 0,
        scoring_errors=lambda: 0,
    )


def side(
    model: OnnxModel, work: Path, name: str, rows_per_request: int
) -> tuple[SqliteOutbox, Callable[[], int]]:
    outbox = SqliteOutbox(work / f"{name}-{rows_per_request}.sqlite3", capacity=10**9)
    service = ScoringService(outbox, f"bench-{name}")
    requests = batches(demo_rows(), rows_per_request, 64)
    turn = iter(range(10**12))

    def score() -> int:
        rows = requests[next(turn) % len(requests)]
        return service.score(model, validate_rows(model.manifest, rows)).n_rows

    return outbox, score


def compare(model: OnnxModel, work: Path, rows_per_request: int, args: argparse.Namespace) -> list[float]:
    """Per-slice on/off ratios of rows per second."""
    off_outbox, off = side(model, work, "off", rows_per_request)
    on_outbox, on = side(model, work, "on", rows_per_request)
    heartbeat = SiteHeartbeat("bench-on", on_outbox, readings(model, on_outbox))
    thread = HeartbeatThread(heartbeat, args.interval)
    try:
        rate(off, rows_per_request, 1.0)  # warm both sides
        rate(on, rows_per_request, 1.0)
        # A, B, B, A: neither side always runs first, after the other's disk writes.
        slices = max(1, round(args.seconds / args.slice))
        off_rates, on_rates = paired_rates(off, on, rows_per_request, 2 * slices * args.slice, slices)
        ratios = [on_rate / off_rate for off_rate, on_rate in zip(off_rates, on_rates, strict=True)]
    finally:
        thread.stop()
        off_outbox.close()
        on_outbox.close()
    print(f"  {rows_per_request:>5}-row requests: {heartbeat.written} heartbeats written on the 'on' side, "
          f"{heartbeat.failures} failed")  # fmt: skip
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per side and size")
    parser.add_argument("--slice", type=float, default=0.5, help="seconds per alternating slice")
    parser.add_argument("--interval", type=float, default=1.0, help="heartbeat interval on the 'on' side")
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "var" / "models" / "demo")
    args = parser.parse_args()
    model = OnnxModel.load(args.model, intra_op_threads=1)
    with tempfile.TemporaryDirectory() as work:
        for rows_per_request in (1, 1000):
            ratios = compare(model, Path(work), rows_per_request, args)
            median = statistics.median(ratios)
            verdict = "met" if median >= TARGET else "missed"
            print(f"heartbeat on / off, {rows_per_request}-row requests: {median:.3f} median of "
                  f"{len(ratios)} slices (range {min(ratios):.3f}-{max(ratios):.3f}; "
                  f"target >= {TARGET}: {verdict})")  # fmt: skip


if __name__ == "__main__":
    main()
