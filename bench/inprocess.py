"""In-process onnxruntime throughput: ``OnnxModel.predict`` on 1,000-row batches, no HTTP, nothing recorded.

The same model, the same session options as the scoring app (one intra-op
thread) and the same rows, already validated into columns. In a process of its
own: ``python -m bench.inprocess --seconds 5`` prints ``{"rows_per_s": ...}``;
with ``--serve`` it loads once, then answers each line of seconds read on stdin
with one such JSON line (the benchmark interleaves it with the servers).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from bench.rows import demo_rows
from bench.slices import rate, rotating
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.domain.validation import FeatureColumns, validate_rows

REPO_ROOT = Path(__file__).resolve().parents[1]


def prepare(model_dir: Path, batch_rows: int) -> tuple[OnnxModel, list[FeatureColumns]]:
    model = OnnxModel.load(model_dir, intra_op_threads=1)
    rows = demo_rows()
    batches = [
        validate_rows(model.manifest, rows[i : i + batch_rows]) for i in range(0, 8 * batch_rows, batch_rows)
    ]
    for columns in batches:  # warm-up: first runs allocate
        model.predict(columns)
    return model, batches


def rows_per_second(model: OnnxModel, batches: list[FeatureColumns], seconds: float) -> float:
    return rate(rotating(model.predict, batches), batches[0].n_rows, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=REPO_ROOT / "var" / "models" / "demo")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--serve", action="store_true", help="answer a line of seconds on stdin at a time")
    args = parser.parse_args(argv)
    model, batches = prepare(args.model_dir, args.rows)
    requests = (float(line) for line in sys.stdin) if args.serve else iter([args.seconds])
    for seconds in requests:
        rate = rows_per_second(model, batches, seconds)
        sys.stdout.write(orjson.dumps({"rows_per_s": rate}).decode() + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
