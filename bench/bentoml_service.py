"""The peer for the benchmark: BentoML serving the same ONNX model, set up as its docs recommend.

Runs from its own virtualenv (.venv-bench, pyproject extra ``bench-peer``):
``BENCH_MODEL_DIR=var/models/demo .venv-bench/bin/bentoml serve bench.bentoml_service:OnnxScoring``
(``bentoml serve`` is production mode since 1.2; ``--development`` would be the dev server).

Two endpoints take the scoring API's body shape, ``{"rows": [row, ...]}``:
``/predict`` (a plain API) and ``/predict_batched`` (adaptive batching, which the
docs offer for throughput: concurrent requests are grouped into one model call).
The benchmark measures both and compares against the better of the two. Both
validate rows with a pydantic model (BentoML's documented way to type a
composite input); one worker process, one intra-op thread like the scoring app;
access log off like the scoring app's default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import bentoml
import numpy as np
import onnxruntime as ort
from pydantic import BaseModel

NUMERIC = ("air_temperature_k", "process_temperature_k", "rotational_speed_rpm", "torque_nm", "tool_wear_min")


class Row(BaseModel):
    type: Literal["L", "M", "H"]
    air_temperature_k: float
    process_temperature_k: float
    rotational_speed_rpm: float
    torque_nm: float
    tool_wear_min: float
    product_id: str | None = None


class Prediction(BaseModel):
    failure_probability: float
    ood_score: float


@bentoml.service(
    workers=1,
    traffic={"timeout": 60},
    logging={"access": {"enabled": False}},
)
class OnnxScoring:
    def __init__(self) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        model_dir = Path(os.environ.get("BENCH_MODEL_DIR", "var/models/demo"))
        self.session = ort.InferenceSession(
            str(model_dir / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def _run(self, rows: list[Row]) -> list[Prediction]:
        types = np.array([[row.type] for row in rows], dtype=object)
        numeric = np.array([[getattr(row, name) for name in NUMERIC] for row in rows], dtype=np.float32)
        probability, ood = self.session.run(None, {"type": types, "numeric": numeric})
        return [
            Prediction(failure_probability=p, ood_score=o)
            for p, o in zip(probability.tolist(), ood.tolist(), strict=True)
        ]

    @bentoml.api  # type: ignore[untyped-decorator]  # (when bentoml is not installed: .venv)
    def predict(self, rows: list[Row]) -> list[Prediction]:
        return self._run(rows)

    @bentoml.api(batchable=True, batch_dim=0, max_batch_size=4096)  # type: ignore[untyped-decorator]
    def predict_batched(self, rows: list[Row]) -> list[Prediction]:
        return self._run(rows)
