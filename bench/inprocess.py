"""In-process onnxruntime throughput: ``OnnxModel.predict`` on 1,000-row batches, no HTTP, nothing recorded.

The same model, the same session options as the scoring app (one intra-op
thread) and the same rows, already validated into columns. Run by the
benchmark in a process of its own: ``python -m bench.inprocess --seconds 5``
prints ``{"rows_per_s": ...}``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

from bench.rows import demo_rows
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.domain.validation import validate_rows

REPO_ROOT = Path(__file__).resolve().parents[1]


def rows_per_second(model_dir: Path, batch_rows: int, seconds: float) -> float:
    model = OnnxModel.load(model_dir, intra_op_threads=1)
    rows = demo_rows()
    batches = [
        validate_rows(model.manifest, rows[i : i + batch_rows]) for i in range(0, 8 * batch_rows, batch_rows)
    ]
    for columns in batches:  # warm-up: first runs allocate
        model.predict(columns)
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        model.predict(batches[done % len(batches)])
        done += 1
    return done * batch_rows / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=REPO_ROOT / "var" / "models" / "demo")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    rate = rows_per_second(args.model_dir, args.rows, args.seconds)
    sys.stdout.write(orjson.dumps({"rows_per_s": rate}).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
