"""Figure 7: engineer H7's global app benchmark (bench/global_app_bench.py), run as is, figures parsed.

Its SQLite store of 1,000,000 insights is kept in var/bench/ and reused, so only
the first ``make bench`` pays the two minutes of generating it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.report import Figure
from bench.rows import REPO_ROOT

SCRIPT = REPO_ROOT / "bench" / "global_app_bench.py"
# "<page>  <median ms>  [<max ms>  <bytes>]" rows of its table.
_ROW = re.compile(
    r"^(?P<name>\S.*?)\s{2,}(?P<median>\d+\.\d)(?:\s+(?P<max>\d+\.\d)\s+(?P<bytes>[\d,]+))?\s*$"
)


class GlobalBenchError(RuntimeError):
    """The global app benchmark is absent, failed, or printed nothing we can read."""


def parse(output: str) -> list[Figure]:
    figures = []
    for line in output.splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        detail = f"median of repeated loads; max {match['max']} ms" if match["max"] else ""
        if match["bytes"]:
            detail += f", {match['bytes']} bytes"
        figures.append(Figure("global", f"7. {match['name']}", float(match["median"]), "ms", "", detail))
    if not figures:
        raise GlobalBenchError(f"no figures in its output:\n{output[-1500:]}")
    return figures


def run(db: Path, timeout: float = 900.0) -> list[Figure]:
    if not SCRIPT.exists():
        raise GlobalBenchError(f"{SCRIPT.name} is not there")
    db.parent.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        # As a module from the repository root: the script imports localdev, which is not installed.
        [sys.executable, "-m", "bench.global_app_bench", "--db", str(db)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise GlobalBenchError(f"exited with {completed.returncode}: {completed.stderr[-1500:]}")
    return parse(completed.stdout)
