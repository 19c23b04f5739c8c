"""The ingest's cost of what a change keeps at write time (rollups, indexes): the fleet bench's
store built through the real adapter by this tree and by an earlier one, alternating.

Usage: ``.venv/bin/python -m bench.ingest_cost_bench --before-tree DIR [--insights N] [--sites N]
[--rounds N]``, DIR an exported earlier commit (``git archive <commit> | tar -x -C DIR``). Each build
runs in a child process with its tree first on the path (``bench.fleet_bench.build`` of that tree:
the same insights, feedback and heartbeats), into a fresh temporary file, rounds before, after,
after, before; prints each build's seconds (wall clock and CPU), the CPU medians and after /
before. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BUILD = """
import sys, time
from pathlib import Path

import edgeloop
from bench.fleet_bench import build

assert Path(edgeloop.__file__).is_relative_to(Path.cwd()), "the tree's own store, not this one"
started, cpu = time.perf_counter(), time.process_time()
build(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), 1).close()
print(f"{time.perf_counter() - started:.2f} {time.process_time() - cpu:.2f}")
"""


def build_seconds(tree: Path, insights: int, sites: int) -> tuple[float, float]:
    """The build's wall clock and CPU time (``process_time``: SQLite runs in the process, and a
    loaded machine disturbs it far less than the wall clock)."""
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [sys.executable, "-c", BUILD, str(Path(scratch) / "fleet.sqlite3"), str(sites), str(insights)],
            cwd=tree,
            capture_output=True,
            text=True,
        )
    done.check_returncode()
    wall, cpu = done.stdout.split()[-2:]
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-tree", type=Path, required=True)
    parser.add_argument("--insights", type=int, default=200_000)
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument(
        "--rounds", type=int, default=1, help="times the four builds (before, after, after, before)"
    )
    args = parser.parse_args()
    this_tree = Path(__file__).resolve().parents[1]
    seconds: dict[str, list[float]] = {"before": [], "after": []}  # CPU
    for _ in range(args.rounds):
        for label in ("before", "after", "after", "before"):
            tree = args.before_tree if label == "before" else this_tree
            wall, cpu = build_seconds(tree, args.insights, args.sites)
            seconds[label].append(cpu)
            print(
                f"{label:6} {args.insights:,} insights at {args.sites:,} sites: {wall:.1f} s, CPU {cpu:.1f} s"
            )
    before, after = (statistics.median(seconds[label]) for label in ("before", "after"))
    print(f"median CPU: before {before:.2f} s, after {after:.2f} s: after / before {after / before:.3f}")


if __name__ == "__main__":
    main()
