"""The vision demo's frames per second on one core: through the API against in-process onnxruntime.

``python -m bench.vision_bench [--seconds S] [--rounds R] [--batch N]``. The same model
(the surface-defects bundle: ``var/models/surface-defects`` when valid, else trained now),
the same batch size (8 images of 64 x 64 by default), in one run:

- ``API``: ``POST /api/v1/score/images`` to the scoring app (``python -m scoring_app``, one
  worker, pinned to CPU 0 where there are two or more; the relay off, the outbox real and
  durable), each request a multipart body of ``N`` PNG files already encoded; the answer
  waited for before the next request. That is the whole path a client pays for: HTTP, the
  multipart parse, PNG decoding within the bounds, the batch's preprocessing, one graph
  call, the anomaly rules, one outbox commit (fsync), the JSON answer.
- ``frames``: ``ImageScoringService.score_frames`` in this process on the same frames
  already decoded, as a camera worker calls it: the batch's preprocessing, one graph call,
  the anomaly rules, one durable outbox commit (SQLite, ``synchronous=FULL``); no HTTP, no
  decoding;
- ``onnxruntime``: ``OnnxModel.predict_images`` on the same batches already prepared as
  tensors, one thread, in this process: the graph alone.

Interleaved rounds; the best round of each counts (a shared machine's noise only slows).
The ratio (API / onnxruntime) is the share of the graph's rate the service keeps; with a
graph this small (about 0.8 million multiply-adds a frame), the service's own cost per
request (HTTP, the outbox's fsync) dominates, so larger batches keep more of it.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from PIL import Image

from bench.report import Figure
from bench.servers import REPO_ROOT, scoring_app
from bench.slices import best_rates, rotating
from edgeloop.adapters.onnx_model import BundleError, OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.images import ImageSource
from edgeloop.recipes import surface_images
from edgeloop.service_layer.image_scoring import ImageScoringService
from tools.example_models import build_bundle

API_KEY = "bench-vision-key-0123456789"
DEV_STORAGE = "UseDevelopmentStorage=true"  # the relay is off: never connected to
BATCHES = 8  # distinct batches, cycled


@dataclass(frozen=True)
class VisionRates:
    batch: int
    api_frames_per_s: float
    frames_path_per_s: float  # score_frames in process (the camera worker's call)
    onnxruntime_frames_per_s: float

    @property
    def ratio(self) -> float:
        return self.api_frames_per_s / self.onnxruntime_frames_per_s

    @property
    def frames_ratio(self) -> float:
        return self.frames_path_per_s / self.onnxruntime_frames_per_s


def surface_bundle(work: Path) -> Path:
    where = REPO_ROOT / "var" / "models" / "surface-defects"
    try:
        OnnxModel.load(where)
    except BundleError:
        where = work / "surface-defects"
        build_bundle("surface-defects", where)
    return where


def _png(frame: npt.NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def measure(seconds: float = 6.0, rounds: int = 3, batch: int = 8) -> VisionRates:
    with tempfile.TemporaryDirectory(prefix="edgeloop-vision-bench-") as tmp:
        work = Path(tmp)
        bundle = surface_bundle(work)
        model = OnnxModel.load(bundle, intra_op_threads=1)
        spec = model.manifest.image_input
        assert spec is not None, "the surface-defects bundle takes images"
        frames, _ = surface_images.generate([batch * BATCHES // 4 + 1] * 4, seed=11)
        groups = [list(frames[i * batch : (i + 1) * batch]) for i in range(BATCHES)]
        tensors = [prepare_batch(group, spec) for group in groups]
        bodies = [
            [("images", (f"f{i}.png", _png(frame), "image/png")) for i, frame in enumerate(group)]
            for group in groups
        ]
        outbox = SqliteOutbox(work / "frames-outbox.sqlite3", 10**9)
        service = ImageScoringService(outbox, "bench-vision", lambda: model, PillowDecoder())
        server = scoring_app(work, "vision", bundle, API_KEY, DEV_STORAGE, "insights", relay=False)
        with server.start(), httpx.Client(base_url=server.base_url, headers={"X-API-Key": API_KEY}) as client:

            def api(files: list[Any]) -> None:
                client.post("/api/v1/score/images", files=files).raise_for_status()

            def frames_path(group: list[Any]) -> None:
                service.score_frames(group, ImageSource.camera("bench"))

            runs = {
                "api": rotating(api, bodies),
                "frames": rotating(frames_path, groups),
                "ort": rotating(model.predict_images, tensors),
            }
            best = best_rates(runs, batch, seconds, rounds)
        outbox.close()
    return VisionRates(batch, best["api"], best["frames"], best["ort"])


def figures(rates: VisionRates) -> list[Figure]:
    return [
        Figure(
            "vision_api",
            f"10. vision model (surface-defects): API / onnxruntime, batch {rates.batch}",
            rates.ratio,
            "x",
            "",
            f"POST /api/v1/score/images {rates.api_frames_per_s:,.0f} frames/s on one core, "
            f"OnnxModel.predict_images {rates.onnxruntime_frames_per_s:,.0f} frames/s",
        ),
        Figure(
            "vision_frames",
            f"10. vision model (surface-defects): score_frames / onnxruntime, batch {rates.batch}",
            rates.frames_ratio,
            "x",
            ">= 0.6",
            f"ImageScoringService.score_frames {rates.frames_path_per_s:,.0f} frames/s in process, "
            f"OnnxModel.predict_images {rates.onnxruntime_frames_per_s:,.0f} frames/s",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.vision_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per side")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best counts")
    parser.add_argument(
        "--batch", type=int, action="append", help="images a request (repeatable; default 1 and 8)"
    )
    args = parser.parse_args(argv)
    print(
        "| batch | API frames/s | score_frames frames/s | onnxruntime frames/s | API ratio | frames ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for batch in args.batch or [1, 8]:
        rates = measure(args.seconds, args.rounds, batch)
        print(
            f"| {batch} | {rates.api_frames_per_s:,.0f} | {rates.frames_path_per_s:,.0f} | "
            f"{rates.onnxruntime_frames_per_s:,.0f} | {rates.ratio:.2f}x | {rates.frames_ratio:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
