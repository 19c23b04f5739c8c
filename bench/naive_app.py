"""The naive reference app: the common tutorial shape of "serve an ONNX model with FastAPI".

A plain sync endpoint with a pydantic body model, one ``InferenceSession.run``
per request, nothing recorded. Same ONNX model as the scoring app and, to keep
the comparison about the serving design only, the same session options (one
intra-op thread, sequential) and the same uvicorn settings (uvloop, httptools,
no access log, one worker).

Run: ``BENCH_MODEL_DIR=var/models/demo uvicorn bench.naive_app:app --port 8100``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, Request
from pydantic import BaseModel


class Reading(BaseModel):
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


def load_session(model_dir: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(
        str(model_dir / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.session = load_session(Path(os.environ.get("BENCH_MODEL_DIR", "var/models/demo")))
    yield


app = FastAPI(lifespan=lifespan)


@app.post("/predict")
def predict(reading: Reading, request: Request) -> Prediction:
    session: ort.InferenceSession = request.app.state.session
    numeric = np.array(
        [
            [
                reading.air_temperature_k,
                reading.process_temperature_k,
                reading.rotational_speed_rpm,
                reading.torque_nm,
                reading.tool_wear_min,
            ]
        ],
        dtype=np.float32,
    )
    probability, ood = session.run(
        None, {"type": np.array([[reading.type]], dtype=object), "numeric": numeric}
    )
    return Prediction(failure_probability=float(probability[0]), ood_score=float(ood[0]))


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "alive"}
