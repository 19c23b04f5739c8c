"""Where a camera frame's CPU goes: each stage of the camera path alone, in one thread.

    python -m bench.camera_stages [--model-dir var/models/surface-defects] [--batch 8] [--group 8]
        [--frames 960] [--repeats 3]

The camera bench (bench/camera_bench.py) measures the path whole, two threads at once; this
one times each stage on its own with ``time.thread_time`` (CPU of this thread only), on the
same demo model, video and batch size, so that the per-frame costs add up and the rest of the
threaded figure is the threads' own cost (the hand-offs, the GIL, the caches they share):

* ``decode``: PyAV's demuxing and H.264 decoding of a frame (no conversion);
* ``rgb``: the camera adapter's conversion to an RGB array (``PyAvFrame.rgb``), on top;
* ``sampling``: the reader's ``FrameSampler``; ``buffer``: the ``FrameBuffer`` put and take (a
  live camera's hand-off; a file camera's reader scores, so it has none);
* ``prepare_batch`` and ``graph``, each alone, and ``prepare_and_graph``: the in-process
  baseline's own loop (``prepare_batch`` then the graph, batch after batch), per frame;
* ``recording``: ``ImageScoringService.score_frame_batches`` on ``--group`` batches less
  ``prepare_and_graph`` on the same batches (the anomaly rules, the insight documents, the
  outbox commit into a real SQLite outbox at FULL).

The stages are interleaved, each figure the best of ``--repeats`` (a shared machine's noise only
slows). The ``ceiling`` is the ratio the camera path would reach with threads that cost nothing:
``prepare_and_graph`` / (all the stages but the two alone); ``ceiling_file`` leaves out the buffer.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import orjson

from bench.camera_bench import REPO_ROOT, VIDEO_FPS, surface_frames, write_video
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.pyav_camera import PyAvConnector
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.domain.cameras import CameraSpec, FrameSampler
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.images import ImageSource
from edgeloop.ports.cameras import RgbFrame
from edgeloop.recipes import surface_images
from edgeloop.service_layer.frame_buffer import FrameBuffer
from edgeloop.service_layer.image_scoring import ImageScoringService


def us_a_frame(works: dict[str, Callable[[], int]], repeats: int) -> dict[str, float]:
    """Each work's best of ``repeats`` runs (each returns the frames it did), in CPU microseconds
    of this thread a frame; the works run in turn within each repeat (interleaved)."""
    best = dict.fromkeys(works, float("inf"))
    for _ in range(repeats):
        for name, work in works.items():
            started = time.thread_time()
            frames = work()
            best[name] = min(best[name], (time.thread_time() - started) / frames * 1e6)
    return best


def decoded(video: Path) -> int:
    with av.open(str(video)) as container:
        return sum(1 for _ in container.decode(video=0))


def read(camera: CameraSpec, sampled: bool, buffered: bool) -> int:
    """Frames from the camera adapter, converted; ``sampled``: through the sampler, ``buffered``:
    and the buffer (every frame is converted and kept either way: the same work each time)."""
    stream = PyAvConnector().open(camera)
    sampler = FrameSampler(camera.sample_fps)
    buffer = FrameBuffer(camera.batch_size * 2, drop_oldest=True)  # never blocks this one thread
    count = 0
    try:
        for frame in stream.frames():
            rgb = frame.rgb()
            count += 1
            if sampled and sampler.keep(frame.timestamp) and buffered:
                buffer.put(rgb, time.time())
                buffer.take_ready(camera.batch_size)
    finally:
        stream.close()
    return count


def stages(
    model: OnnxModel, frames: list[RgbFrame], video: Path, work: Path, args: argparse.Namespace
) -> dict[str, float]:
    """Each stage's best CPU microseconds a frame (the cumulative ones as measured)."""
    spec = model.manifest.image_input
    assert spec is not None, "an image model"
    batch: int = args.batch
    repeats: int = args.repeats
    batches = [frames[i : i + batch] for i in range(0, len(frames) - batch + 1, batch)]
    tensors = [prepare_batch(chunk, spec) for chunk in batches]
    groups = [batches[i : i + args.group] for i in range(0, len(batches) - args.group + 1, args.group)]
    camera = CameraSpec("stages", str(video), sample_fps=VIDEO_FPS, batch_size=batch)
    outbox = SqliteOutbox(work / "stages-outbox.sqlite3", 10_000_000)
    images = ImageScoringService(outbox, "bench-site", lambda: model, PillowDecoder())
    source = ImageSource.camera(camera.id)

    def prepare() -> int:
        for chunk in batches:
            prepare_batch(chunk, spec)
        return len(batches) * batch

    def prepare_and_graph() -> int:  # the in-process baseline's loop, on the groups' batches
        for group in groups:
            for chunk in group:
                model.predict_images(prepare_batch(chunk, spec))
        return sum(len(chunk) for group in groups for chunk in group)

    def graph() -> int:
        for tensor in tensors:
            model.predict_images(tensor)
        return len(tensors) * batch

    def score_groups() -> int:
        for group in groups:
            images.score_frame_batches(group, source)
        return sum(len(chunk) for group in groups for chunk in group)

    try:
        works: dict[str, Callable[[], int]] = {
            "decode": lambda: decoded(video),
            "decode_and_rgb": lambda: read(camera, sampled=False, buffered=False),
            "decode_rgb_and_sampling": lambda: read(camera, sampled=True, buffered=False),
            "decode_rgb_sampling_and_buffer": lambda: read(camera, sampled=True, buffered=True),
            "prepare_batch": prepare,
            "graph": graph,
            "prepare_and_graph": prepare_and_graph,
            "score_frame_batches": score_groups,
        }
        figures = us_a_frame(works, repeats)
    finally:
        outbox.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.camera_stages", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--model-dir", type=Path, default=REPO_ROOT / "var" / "models" / "surface-defects")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--group", type=int, default=8, help="batches a commit")
    parser.add_argument("--frames", type=int, default=960, help="video frames (a multiple of 96)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    model = OnnxModel.load(args.model_dir, intra_op_threads=1)
    frames = surface_frames(96, surface_images.SIZE)
    with tempfile.TemporaryDirectory(prefix="camera-stages-") as folder:
        work = Path(folder)
        video = write_video(work / "surfaces.mp4", frames, repeat=max(1, args.frames // len(frames)))
        raw = stages(model, frames * max(1, args.frames // len(frames)), video, work, args)
    per_frame = {
        "decode": raw["decode"],
        "rgb": raw["decode_and_rgb"] - raw["decode"],
        "sampling": raw["decode_rgb_and_sampling"] - raw["decode_and_rgb"],
        "buffer": raw["decode_rgb_sampling_and_buffer"] - raw["decode_rgb_and_sampling"],
        "prepare_and_graph": raw["prepare_and_graph"],
        "recording": raw["score_frame_batches"] - raw["prepare_and_graph"],
    }
    baseline = per_frame["prepare_and_graph"]
    camera_path = sum(per_frame.values())
    result = {
        "model": model.manifest.name,
        "batch": args.batch,
        "group": args.group,
        "us_a_frame": {name: round(value, 1) for name, value in per_frame.items()},
        "alone_us_a_frame": {name: round(raw[name], 1) for name in ("prepare_batch", "graph")},
        "camera_path_us_a_frame": round(camera_path, 1),
        "baseline_us_a_frame": round(baseline, 1),
        "ceiling": round(baseline / camera_path, 3),
        "ceiling_file": round(baseline / (camera_path - per_frame["buffer"]), 3),
    }
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
