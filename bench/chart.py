"""Draw the benchmark's ratio figures against their targets as a PNG (bench/results/latest.png).

``python -m bench.chart [results.json] [out.png]``; `make bench` calls it after each run.
Only the ratio figures with a ``>=`` target are drawn: one bar per figure, its target as
a tick, green when met and red when missed, so the page reads at a glance. A ratio with
no target is a share of a limit (ours / the HTTP stack's limit): a grey bar against the
same line, which stands for the limit itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent / "results"
ChartRow = tuple[str, float, float | None]  # name, value, target (None: a share of a limit)


def ratio_figures(results: dict[str, Any]) -> list[ChartRow]:
    """(name, value, target) of every ratio figure with a lower bound, or none (target None), in order."""
    figures: list[ChartRow] = []
    for figure in results["figures"]:
        target = figure.get("target", "")
        if figure.get("unit") != "x" or figure.get("value") is None:
            continue
        if target.startswith(">="):
            figures.append((figure["name"], float(figure["value"]), float(target.split()[1])))
        elif not target:
            figures.append((figure["name"], float(figure["value"]), None))
    return figures


def _bar(target: float | None, value: float) -> tuple[float, str, str]:
    """Where the bar ends (1 = target met, or the limit reached), its colour and its label."""
    if target is None:
        return value, "#878787", f"{value:.2f}x (no target: 1 = the limit)"
    relative = value / target
    colour = "#1b7837" if relative >= 1 else "#b2182b"
    return relative, colour, f"{value:.2f}x (target >= {target:g}x)"


def draw(results: dict[str, Any], out: Path) -> None:
    figures = ratio_figures(results)
    if not figures:
        raise ValueError("no ratio figures with a target in the results")
    height = 0.6 * len(figures) + 1.4
    fig, ax = plt.subplots(figsize=(9, height), dpi=110)
    for row, (name, value, target) in enumerate(reversed(figures)):
        # Log scale: each bar is value/target, so the target line is 1.
        end, colour, label = _bar(target, value)
        ax.barh(row, end, color=colour, height=0.6)
        ax.text(end * 1.05, row, label, va="center", fontsize=9)
        ax.text(0.0, row + 0.38, name, transform=ax.get_yaxis_transform(), fontsize=9, va="bottom")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks([])
    ax.set_xlim(min([0.1] + [_bar(t, v)[0] / 1.5 for _, v, t in figures]), 10)
    ax.set_xlabel("measured / target, grey: share of a limit (log scale; right of the line = target met)")
    machine = results.get("machine", {})
    ax.set_title(
        f"make bench, {results.get('started_at', '')}: {machine.get('cpus', '?')} CPUs, "
        f"Python {machine.get('python', '?')}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else RESULTS / "latest.json"
    out = Path(argv[2]) if len(argv) > 2 else source.with_suffix(".png")
    draw(json.loads(source.read_text()), out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
