"""What keeping every scored frame on site costs: the upload and camera paths with keeping on and off.

``python -m bench.frame_keeping_bench [--seconds S] [--rounds R] [--batch N] [--size PX]``. One
process, one onnxruntime thread, the surface-defects bundle (bench/vision_bench.py's), the same
batches of ``N`` images four ways, interleaved rounds, the best round of each counting:

- ``uploads off`` / ``uploads on``: ``ImageScoringService.score_uploads`` on PNG files already
  encoded (decoding within the bounds, one graph call, one durable outbox commit), then, when
  on, ``FrameKeeping.keep_uploads`` as ``scoring_app/use_cases.py`` runs it (the request's
  thread hands the bytes to the keeping's writer thread, which keeps them behind the answer);
- ``camera off`` / ``camera on``: ``CameraImageScoring.score_batches`` on frames already
  decoded (one batch a call), as a camera's scorer thread calls it; when on, each frame is
  also encoded to JPEG there (Pillow, the setting's quality) and handed to the writer.

Run flat out, the paths score faster than the writer keeps, so its queue fills and frames are
dropped (counted ``backlog``): the figures say what keeping costs the answer, and how many
frames a second the writer keeps (``keeping.kept`` over the run).

First the store alone (``store_frames_kept_per_s``): 256 camera JPEGs kept one ``keep`` a
frame, then in ``keep_many`` calls of ``--write-frames``, interleaved rounds. Then the paths,
twice in one sitting: the writer keeping one frame a commit (``write_frames=1``: a fsynced file,
its folder and one SQLite commit per frame, the path before batched keeping), then up to
``--write-frames`` waiting frames a commit (``SqliteFrameStore.keep_many``: the files, one
folder fsync, one commit).

The frame store and the outbox are real SQLite files on the same disk. The figures are the
ratios on / off: the share of the path's rate that keeping leaves. HTTP (the API's fixed cost,
section 12 of docs/benchmarks.md) is left out: it is the same with keeping on or off.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from PIL import Image

from bench.slices import best_rates
from bench.vision_bench import surface_bundle
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.pillow_encoder import PillowJpegEncoder
from edgeloop.adapters.sqlite_frame_store import SqliteFrameStore
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.bootstrap.cameras import CameraImageScoring
from edgeloop.domain.cameras import FrameStamp
from edgeloop.domain.frames import FrameOrigin, KeptFrame, ResultSummary, RetentionBounds
from edgeloop.domain.images import UploadedImage
from edgeloop.recipes import surface_images
from edgeloop.service_layer.frame_keeping import DEFAULT_WRITE_FRAMES, FrameKeeping
from edgeloop.service_layer.image_scoring import ImageScoringService

BATCHES = 16


def _png(frame: npt.NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def store_rates(frames: int, write_frames: int, size: int, quality: int, rounds: int) -> dict[str, float]:
    """The store alone: frames kept a second, one ``keep`` a frame against ``keep_many`` of
    ``write_frames``; the same camera JPEGs, interleaved rounds, each way's best."""
    images, _ = surface_images.generate([frames // 4 + 1] * 4, 5, size)
    encoder = PillowJpegEncoder(quality)
    origin = FrameOrigin("bench-site", "camera", "bench", datetime.now(UTC), "b" * 32 + "-00000")
    summary = ResultSummary(top_class="ok", confidence=0.9)
    kept = [KeptFrame(encoder.encode_jpeg(image), "image/jpeg", origin, summary) for image in images[:frames]]
    best = {"one_a_commit": 0.0, "batched": 0.0}
    with tempfile.TemporaryDirectory(prefix="edgeloop-store-bench-") as tmp:
        store = SqliteFrameStore(Path(tmp), RetentionBounds(10**11, timedelta(days=1)))
        for _ in range(rounds):
            started = time.perf_counter()
            for frame in kept:
                store.keep(frame)
            best["one_a_commit"] = max(best["one_a_commit"], len(kept) / (time.perf_counter() - started))
            started = time.perf_counter()
            for start in range(0, len(kept), write_frames):
                store.keep_many(kept[start : start + write_frames])
            best["batched"] = max(best["batched"], len(kept) / (time.perf_counter() - started))
        store.close()
    return {key: round(value, 1) for key, value in best.items()} | {
        "batched_over_one": round(best["batched"] / best["one_a_commit"], 2)
    }


def measure(
    seconds: float, rounds: int, batch: int, size: int, quality: int, write_frames: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="edgeloop-keeping-bench-") as tmp:
        work = Path(tmp)
        model = OnnxModel.load(surface_bundle(work), intra_op_threads=1)
        frames, _ = surface_images.generate([batch * BATCHES // 4 + 1] * 4, 11, size)
        groups = [list(frames[i * batch : (i + 1) * batch]) for i in range(BATCHES)]
        uploads = [
            [UploadedImage(f"f{i}.png", "image/png", _png(f)) for i, f in enumerate(g)] for g in groups
        ]
        outbox = SqliteOutbox(work / "outbox.sqlite3", 10**9)
        store = SqliteFrameStore(work / "frames", RetentionBounds(10**11, timedelta(days=1)))
        keeping = FrameKeeping(store, "bench-site", PillowJpegEncoder(quality), write_frames=write_frames)
        keeping.start()
        service = ImageScoringService(outbox, "bench-site", lambda: model, PillowDecoder())
        cameras = {"off": CameraImageScoring(service), "on": CameraImageScoring(service, keeping)}
        turn = [0]

        def next_index() -> int:
            turn[0] = (turn[0] + 1) % BATCHES
            return turn[0]

        def upload(keep: bool) -> None:
            files = uploads[next_index()]
            scored = service.score_uploads(files)
            if keep:
                keeping.keep_uploads(scored, files)

        def camera(keep: bool) -> None:
            index = next_index()
            stamp = FrameStamp("bench", tuple(time.time() for _ in groups[index]))
            cameras["on" if keep else "off"].score_batches([groups[index]], stamp)

        runs: dict[str, Callable[[], None]] = {
            "uploads_off": lambda: upload(False),
            "uploads_on": lambda: upload(True),
            "camera_off": lambda: camera(False),
            "camera_on": lambda: camera(True),
        }
        best = best_rates(runs, batch, seconds, rounds)
        writing = time.perf_counter()
        keeping.close(timeout=600)  # the writer keeps what was handed in
        drained_s = time.perf_counter() - writing
        kept, kept_bytes = store.kept_totals()
        store.close()
        outbox.close()
    return {
        "write_frames": write_frames,
        "batch": batch,
        "frame_size": size,
        "jpeg_quality": quality,
        "frames_per_s": {key: round(value, 1) for key, value in best.items()},
        "uploads_on_over_off": round(best["uploads_on"] / best["uploads_off"], 3),
        "camera_on_over_off": round(best["camera_on"] / best["camera_off"], 3),
        "kept_frames": kept,
        "mean_kept_bytes": round(kept_bytes / max(kept, 1)),
        "keeping": dict(keeping.totals),  # kept, and what was not kept and why (backlog: queue full)
        "drain_after_last_run_s": round(drained_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.frame_keeping_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=16.0, help="per path, over all rounds")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=surface_images.SIZE, help="frames' side (pixels)")
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality of camera frames")
    parser.add_argument(
        "--write-frames",
        type=int,
        default=DEFAULT_WRITE_FRAMES,
        help="frames the writer keeps a commit, at most",
    )
    args = parser.parse_args(argv)
    results = {
        "store_frames_kept_per_s": store_rates(256, args.write_frames, args.size, args.quality, args.rounds),
        "paths": [
            measure(args.seconds, args.rounds, args.batch, args.size, args.quality, write_frames)
            | {"load_average_after": os.getloadavg()}
            for write_frames in (1, args.write_frames)
        ],
    }
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
