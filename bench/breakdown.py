"""Where a 1,000-row scoring request's time goes, stage by stage, in one thread (no HTTP, no contention).

The stages are the ones ``POST /api/v1/score`` runs (scoring_app/routes/api.py,
edgeloop/service_layer/scoring.py), timed one by one on the same rows with
the real model and a real SQLite outbox in a temporary directory, plus the
relay's packing of the insight column documents. ``python -m bench.breakdown`` prints JSON:
microseconds per 1,000-row request for each stage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.rows import REPO_ROOT, batches, demo_rows
from bench.slices import calls_per_s
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.domain.anomaly import detect_anomalies
from edgeloop.domain.insight_ids import new_batch_id
from edgeloop.domain.records import utc_now
from edgeloop.domain.validation import validate_rows
from edgeloop.service_layer.scoring import evaluate
from edgeloop.wire.packing import MAX_ITEM_BYTES, pack_items
from scoring_app.decoding.fast_rows import RowsDecoder


def _per_call_us(function: Callable[[], Any], seconds: float) -> float:
    return 1e6 / calls_per_s(function, seconds)


def _fastest_us(stages: dict[str, Callable[[], Any]], seconds: float, repeats: int = 5) -> dict[str, float]:
    """Per stage, the best of ``repeats`` interleaved timings: on a shared machine the minimum is
    the figure least disturbed by other processes."""
    for stage in stages.values():
        stage()  # warm
    best = dict.fromkeys(stages, float("inf"))
    for _ in range(repeats):
        for name, stage in stages.items():
            best[name] = min(best[name], _per_call_us(stage, seconds / repeats))
    return best


def breakdown(model_dir: Path, rows_per_request: int = 1000, seconds: float = 0.5) -> dict[str, float]:
    model = OnnxModel.load(model_dir, intra_op_threads=1)
    rows = batches(demo_rows(), rows_per_request, 1)[0]
    body = orjson.dumps({"rows": rows})
    manifest = model.manifest
    columns = validate_rows(manifest, rows)
    with tempfile.TemporaryDirectory() as tmp:
        outbox = SqliteOutbox(Path(tmp) / "outbox.sqlite3", 10_000_000)
        evaluation = evaluate(model, columns)
        batch_id = new_batch_id()
        scored = evaluation.scored_rows(batch_id)

        def documents() -> list[bytes]:
            columns = evaluation.insights("site-bench", utc_now(), batch_id)
            return [document for document, _ in columns.documents(MAX_ITEM_BYTES)]

        items = documents()
        outputs = model.predict(columns)
        decoder = RowsDecoder(manifest, 10_000)
        stages: dict[str, Callable[[], Any]] = {
            "decode and validate the body (msgspec)": lambda: decoder.decode(body),
            "model (OnnxModel.predict)": lambda: model.predict(columns),
            "anomaly flags": lambda: detect_anomalies(manifest, outputs),
            "name rows (Evaluation.scored_rows)": lambda: evaluation.scored_rows(new_batch_id()),
            "insight column documents (Evaluation.insights)": documents,
            "outbox append (SQLite, fsync)": lambda: outbox.append(
                new_batch_id(), "insight", items, record_count=rows_per_request
            ),
            "response JSON (ScoredRows.response_json)": scored.response_json,
            "relay packing (ISA-L deflate level 1)": lambda: pack_items(items),
            "evaluate": lambda: evaluate(model, columns),
        }
        timed = _fastest_us(stages, seconds * len(stages))
        outbox.close()
    # ScoringService.evaluate (of validated columns) = model + anomaly flags + output columns.
    evaluate_us = timed.pop("evaluate")
    inner = sum(timed[name] for name in ("model (OnnxModel.predict)", "anomaly flags"))
    result: dict[str, float] = {}
    for name, micros in timed.items():
        result[name] = micros
        if name == "anomaly flags":
            result["output columns (rest of ScoringService.evaluate)"] = max(0.0, evaluate_us - inner)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=REPO_ROOT / "var" / "models" / "demo")
    parser.add_argument("--seconds", type=float, default=0.5, help="per stage")
    args = parser.parse_args(argv)
    sys.stdout.write(orjson.dumps(breakdown(args.model_dir, seconds=args.seconds)).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
