"""``make bench`` (``python -m bench``): every benchmark, each figure a ratio measured in this run.

Servers run one worker process each on 127.0.0.1 free ports; wrk (one thread)
is the load generator for every throughput figure. The systems a figure
compares are measured in interleaved slices (bench/measure.py), and a ratio is
their two rates. Results: a table here, and bench/results/latest.json + .md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bench import (
    compliance_bench,
    drift_bench,
    e2e,
    global_figures,
    models_bench,
    serving_bench,
    shadow_bench,
    site_signature_bench,
    vision_bench,
)
from bench.e2e_figures import end_to_end_figures
from bench.measure import Bench, Settings
from bench.report import Figure, Report, machine_info
from bench.rows import REPO_ROOT
from bench.servers import ServerError
from bench.wrk import WrkError

RESULTS = REPO_ROOT / "bench" / "results"


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per server and figure")
    parser.add_argument("--slice", type=float, default=2, help="seconds per interleaved slice")
    parser.add_argument(
        "--warmup", type=float, default=2, help="warm-up seconds per server before the slices"
    )
    parser.add_argument("--e2e-burst", type=float, default=5, help="seconds of 1,000-row load, end to end")
    parser.add_argument("--naive-records", type=int, default=400, help="records through the naive pipeline")
    parser.add_argument("--freshness-seconds", type=float, default=20, help="paced load for freshness (s)")
    skippable = "peer, e2e, global, compliance, models, vision, drift, shadow, shadow-camera, sitesign"
    parser.add_argument("--skip", default="", help=f"comma list of: {skippable}")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--app-tree",
        type=Path,
        default=REPO_ROOT,
        help="measure another checkout's scoring app (its .venv and demo model) with this harness",
    )
    args = parser.parse_args(argv)
    return Settings(
        seconds=args.seconds,
        warmup=args.warmup,
        slice=args.slice,
        e2e_burst=args.e2e_burst,
        naive_records=args.naive_records,
        freshness_seconds=args.freshness_seconds,
        skip=frozenset(s.strip() for s in args.skip.split(",") if s.strip()),
        out=args.out,
        app_tree=args.app_tree.resolve(),
    )


# The benches that take seconds each (in process, or one scoring app): key for --skip, step, figures.
SHORT_BENCHES: tuple[tuple[str, str, Callable[[], list[Figure]]], ...] = (
    (
        "compliance",
        "compliance filter per record (bench/compliance_bench.py)",
        lambda: compliance_bench.figures(compliance_bench.measure()),
    ),
    (
        "models",
        "multiclass and regression models per batch (bench/models_bench.py)",
        lambda: models_bench.figures(models_bench.measure()),
    ),
    (
        "vision",
        "vision model through the API, batch 8 (bench/vision_bench.py)",
        lambda: vision_bench.figures(vision_bench.measure()),
    ),
    (
        "drift",
        "drift monitor on / off on the scoring path (bench/drift_bench.py)",
        lambda: drift_bench.figures(drift_bench.measure()),
    ),
    (
        "shadow",
        "shadow scoring on / off on the scoring path (bench/shadow_bench.py)",
        lambda: shadow_bench.figures(*shadow_bench.measure()),
    ),
    (
        "shadow-camera",
        "an image shadow on / off on the camera path's scoring (bench/shadow_bench.py --camera)",
        lambda: shadow_bench.figures(*shadow_bench.measure_camera(20.0, 20)),
    ),
    (
        "sitesign",
        "site signatures on / off, edge filter and cloud ingest (bench/site_signature_bench.py)",
        lambda: site_signature_bench.figures(site_signature_bench.measure()),
    ),
)


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    console = Console()
    report = Report(machine_info(), settings.describe())
    console.print(
        f"[bold]Edgeloop benchmarks[/] on {report.machine['cpus']} CPUs ({report.machine['cpu_model']}), "
        f"load average {report.machine['load_before']}"
    )
    started = time.monotonic()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with tempfile.TemporaryDirectory(prefix="edgeloop-bench-") as tmp, progress:
        bench = Bench(settings, Path(tmp), progress)
        try:
            report.figures += serving_bench.run(bench)
        except (ServerError, WrkError, TimeoutError) as exc:
            console.print(f"[red]serving benchmarks failed:[/] {exc}")
            report.figures.append(Figure("serving", "serving figures", None, "", "", note=str(exc)[:300]))
        report.breakdown = bench.breakdown
        if "e2e" not in settings.skip:
            try:
                report.figures += end_to_end_figures(bench)
            except (ServerError, WrkError, e2e.PipelineError, TimeoutError) as exc:
                console.print(f"[red]end-to-end benchmark failed:[/] {exc}")
                report.figures.append(Figure("e2e", "6. end to end", None, "x", ">= 20", note=str(exc)[:300]))
        if "global" not in settings.skip:
            bench.step("global app at 1,000,000 insights (bench/global_app_bench.py)")
            try:
                report.figures += global_figures.run(REPO_ROOT / "var" / "bench" / "global-1m.sqlite3")
            except (subprocess.SubprocessError, global_figures.GlobalBenchError) as exc:
                console.print(f"[red]global app benchmark failed:[/] {exc}")
                report.figures.append(Figure("global", "7. global app", None, "", "", note=str(exc)[:300]))
            bench.done()
        for key, step, measure in SHORT_BENCHES:
            if key not in settings.skip:
                bench.step(step)
                report.figures += measure()
                bench.done()
    report.seconds = time.monotonic() - started
    console.print(report.table())
    report.write(settings.out)
    console.print(f"written: {settings.out / 'latest.json'}, {settings.out / 'latest.md'}")
    missed = [f.name for f in report.figures if f.met is False]
    if missed:
        console.print(f"[yellow]targets missed:[/] {', '.join(missed)} (see docs/benchmarks.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
