"""data/ai4i2020-failure-mode.csv: the AI4I rows with one failure-mode label per row.

    python -m tools.failure_mode_data [--source SOURCE.csv] [--out data/ai4i2020-failure-mode.csv]

The label ``Failure mode`` comes from the five mode flags (TWF, HDF, PWF, OSF, RNF):
the first flagged mode in the priority ``LABEL_PRIORITY``, or ``none`` when no flag is
set. Modes fixed by the process state at that moment (heat dissipation, power) come
before overstrain (torque x wear), tool wear (a random wear time in 200-240 min) and
the random failure, so a row with two modes keeps the cause its inputs explain best.
Two quirks of the data are kept as they are: rows with RNF set but ``Machine failure``
0 are labelled RNF (the flags are the label's source), and rows with ``Machine
failure`` 1 but no flag are labelled ``none`` (the data names no cause). Other columns
are copied as text, unchanged; the output is a pure function of the source file.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE = REPO_ROOT / "data" / "ai4i2020-train.csv"
OUT = REPO_ROOT / "data" / "ai4i2020-failure-mode.csv"
LABEL_COLUMN = "Failure mode"
NO_FAILURE = "none"
LABEL_PRIORITY = ("HDF", "PWF", "OSF", "TWF", "RNF")
KEPT_COLUMNS = (
    "UDI",
    "Type",
    "Air temperature [K]",
    "Process temperature [K]",
    "Rotational speed [rpm]",
    "Torque [Nm]",
    "Tool wear [min]",
    "Machine failure",
)


def failure_mode(row: dict[str, str]) -> str:
    """The row's label: the first flagged mode by ``LABEL_PRIORITY``, else ``none``."""
    return next((mode for mode in LABEL_PRIORITY if row[mode].strip() == "1"), NO_FAILURE)


def failure_mode_csv(source: Path = SOURCE) -> bytes:
    """The derived CSV's bytes (``\\n`` line ends, UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*KEPT_COLUMNS, LABEL_COLUMN])
    with source.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            writer.writerow([*(row[column] for column in KEPT_COLUMNS), failure_mode(row)])
    return buffer.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.failure_mode_data", description=__doc__)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.write_bytes(failure_mode_csv(args.source))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
