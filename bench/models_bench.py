"""The example models' batch throughput: the scoring path against bare onnxruntime, same batches, same run.

``python -m bench.models_bench [--seconds S] [--rounds R]``. Per model (the binary
demo for reference, the multiclass failure mode, the regression tool life), 1,000-row
batches of its own data are scored two ways in one process and one thread, in
interleaved rounds (the best round counts: a shared machine's noise only slows):

- ``scoring path``: what ``POST /api/v1/score`` does without HTTP and the outbox:
  decoding and validating the body (the route's ``RowsDecoder``), ``evaluate``
  (``OnnxModel.predict``, the task's anomaly rules, the output columns) and the
  answer's JSON;
- ``in-process onnxruntime``: ``OnnxModel.predict`` on the batch already validated
  into columns (as bench/inprocess.py), i.e. the graph alone.

The ratio (scoring path / onnxruntime) is the share of the graph's speed the
service keeps; a heavier graph (the failure mode's 6 x 60 trees) leaves less room
for the service's own cost to show. Bundles: ``var/models/<name>`` when valid, else
trained into a temporary directory (tools/example_models.py, seconds).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.report import Figure
from bench.rows import REPO_ROOT, batches, demo_rows
from bench.slices import best_rates, rotating
from edgeloop.adapters.onnx_model import BundleError, OnnxModel
from edgeloop.domain.validation import FeatureColumns, validate_rows
from edgeloop.service_layer.scoring import evaluate
from scoring_app.decoding.fast_rows import RowsDecoder
from tools.example_models import EXAMPLES, build_bundle

BATCH_ROWS = 1000
BATCHES = 8


@dataclass(frozen=True)
class ModelRates:
    model: str  # the manifest's name
    task: str
    service_rows_per_s: float
    onnxruntime_rows_per_s: float

    @property
    def ratio(self) -> float:
        return self.service_rows_per_s / self.onnxruntime_rows_per_s


def _tool_life_rows() -> list[dict[str, Any]]:
    base = EXAMPLES["tool-life"].base_data
    assert base is not None  # the tool-life example trains on a CSV
    with (REPO_ROOT / base.uri).open(newline="", encoding="utf-8") as handle:
        return [
            {name: float(record[column]) for column, name in base.columns.items()}
            for record in csv.DictReader(handle)
        ]


def _bundle(key: str, work: Path) -> Path:
    """``var/models/<key>`` if it loads, else a bundle trained now under ``work``."""
    where = REPO_ROOT / "var" / "models" / key
    try:
        OnnxModel.load(where)
    except BundleError:
        where = work / key
        build_bundle(key, where)
    return where


def measure_model(bundle: Path, rows: list[dict[str, Any]], seconds: float, rounds: int) -> ModelRates:
    """Both ways on the same batches, ``rounds`` interleaved rounds of ``seconds / rounds`` each."""
    model = OnnxModel.load(bundle, intra_op_threads=1)
    row_batches = batches(rows, BATCH_ROWS, BATCHES)
    columns: list[FeatureColumns] = [validate_rows(model.manifest, batch) for batch in row_batches]
    bodies = [orjson.dumps({"rows": batch}) for batch in row_batches]
    decoder = RowsDecoder(model.manifest, 10_000)

    def service(index: int) -> bytes:
        decoded = decoder.decode(bodies[index])
        if decoded is None:  # the route's thorough path, which names the bad field
            decoded = validate_rows(model.manifest, row_batches[index])
        return evaluate(model, decoded).scored_rows("bench-batch").response_json()

    runs = {"service": rotating(service, range(BATCHES)), "onnxruntime": rotating(model.predict, columns)}
    best = best_rates(runs, BATCH_ROWS, seconds, rounds)
    return ModelRates(model.manifest.name, model.manifest.task.kind, best["service"], best["onnxruntime"])


def measure(seconds: float = 3.0, rounds: int = 5) -> list[ModelRates]:
    with tempfile.TemporaryDirectory(prefix="edgeloop-models-bench-") as tmp:
        work = Path(tmp)
        demo = REPO_ROOT / "var" / "models" / "demo"
        lineup = [
            (demo, demo_rows()),
            (_bundle("failure-mode", work), demo_rows()),
            (_bundle("tool-life", work), _tool_life_rows()),
        ]
        return [measure_model(bundle, rows, seconds, rounds) for bundle, rows in lineup]


def figures(rates: list[ModelRates]) -> list[Figure]:
    """For ``python -m bench``: each model's scoring path as a share of its bare graph's rate."""
    return [
        Figure(
            f"models_{rate.task}",
            f"9. {rate.task} model ({rate.model}): scoring path / onnxruntime",
            rate.ratio,
            "x",
            "",
            f"{BATCH_ROWS:,}-row batches in process: decode + validate + evaluate + answer JSON "
            f"{rate.service_rows_per_s:,.0f} rows/s, "
            f"OnnxModel.predict {rate.onnxruntime_rows_per_s:,.0f} rows/s",
        )
        for rate in rates
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.models_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per model and side")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best counts")
    args = parser.parse_args(argv)
    print("| model | task | scoring path rows/s | onnxruntime rows/s | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for rate in measure(args.seconds, args.rounds):
        print(
            f"| {rate.model} | {rate.task} | {rate.service_rows_per_s:,.0f} | "
            f"{rate.onnxruntime_rows_per_s:,.0f} | {rate.ratio:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
