"""data/tool-life.csv: turning-tool life generated from the extended Taylor equation (seeded).

    python -m tools.tool_life_data [--rows 2000] [--seed 1907] [--out data/tool-life.csv]

Physical model (cemented carbide insert turning steel): Taylor's tool-life equation
``V * T**n = C`` extended with the feed ``f`` and depth of cut ``d``::

    T = (C / V) ** (1 / n) * (F_REF / f) ** (a / n) * (D_REF / d) ** (b / n) * noise

``n = 0.25`` and ``C = 500 m/min`` at ``f = 0.25 mm/rev``, ``d = 2.5 mm`` are the
representative values for carbide on steel in Groover, *Fundamentals of Modern
Manufacturing* (table of Taylor parameters). The feed and depth exponents
``a = 0.5``, ``b = 0.2`` are assumed, within the range usually quoted for carbide (feed
shortens life more than depth does). ``noise`` is lognormal (``sigma = 0.2``, median 1):
tool life scatters by tens of percent between nominally equal cuts. Inputs are uniform
over a carbide finishing-to-roughing window (``RANGES``), rounded as a shop would
record them; the life is computed from the rounded inputs.

Deterministic across platforms and Python versions: only ``random.Random(seed).random()``
is drawn (its sequence is guaranteed stable); normals come from a Box-Muller transform here.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT = REPO_ROOT / "data" / "tool-life.csv"
ROWS = 2000
SEED = 1907  # the year of Taylor's "On the Art of Cutting Metals"

TAYLOR_N = 0.25
TAYLOR_C_M_MIN = 500.0
FEED_REF_MM_REV = 0.25
DEPTH_REF_MM = 2.5
FEED_EXPONENT = 0.5  # assumed
DEPTH_EXPONENT = 0.2  # assumed
NOISE_SIGMA = 0.2  # assumed scatter (log scale)

# column, low, high, decimals
RANGES: tuple[tuple[str, float, float, int], ...] = (
    ("Cutting speed [m/min]", 150.0, 300.0, 1),
    ("Feed [mm/rev]", 0.15, 0.40, 3),
    ("Depth of cut [mm]", 1.0, 4.0, 2),
)
LIFE_COLUMN = "Tool life [min]"
LIFE_DECIMALS = 2


def taylor_life_min(speed_m_min: float, feed_mm_rev: float, depth_mm: float) -> float:
    """The noise-free tool life [min] of the extended Taylor equation."""
    life: float = (
        (TAYLOR_C_M_MIN / speed_m_min) ** (1.0 / TAYLOR_N)
        * (FEED_REF_MM_REV / feed_mm_rev) ** (FEED_EXPONENT / TAYLOR_N)
        * (DEPTH_REF_MM / depth_mm) ** (DEPTH_EXPONENT / TAYLOR_N)
    )
    return life


def _standard_normal(draw: random.Random) -> float:
    # Box-Muller; 1 - random() is in (0, 1], so the logarithm is finite.
    radius = math.sqrt(-2.0 * math.log(1.0 - draw.random()))
    return radius * math.cos(2.0 * math.pi * draw.random())


def tool_life_csv(rows: int = ROWS, seed: int = SEED) -> bytes:
    """The CSV's bytes: a ``Run`` number, the three cutting conditions and the tool life."""
    draw = random.Random(seed)
    lines = [",".join(["Run", *(column for column, *_ in RANGES), LIFE_COLUMN])]
    for run in range(1, rows + 1):
        values = [round(low + (high - low) * draw.random(), places) for _, low, high, places in RANGES]
        life = taylor_life_min(*values) * math.exp(NOISE_SIGMA * _standard_normal(draw))
        texts = [f"{value:.{places}f}" for value, (*_, places) in zip(values, RANGES, strict=True)]
        lines.append(",".join([str(run), *texts, f"{life:.{LIFE_DECIMALS}f}"]))
    return ("\n".join(lines) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.tool_life_data", description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.write_bytes(tool_life_csv(args.rows, args.seed))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
