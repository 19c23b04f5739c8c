"""The cost of reading a detection label against its insight: feedback calls with and without the check.

``python -m bench.feedback_check_bench [--seconds S] [--rounds R] [--items N ...]``. The
surface-detection demo (``var/models/surface-detection``: ``make example-models``) scores one
batch of 32 generated frames into a real, durable SQLite outbox (``synchronous=FULL``); then,
in one process, in interleaved pairs of slices (bench.slices.paired_rates):

- ``check``: ``FeedbackService.record`` of N items, each a detection label (a verdict per
  detection, then one missed box) on the batch's insights, read against the insights' detections
  (``Outbox.entry_insights``: the entry read and decoded once a call, then ``label_mismatch``);
- ``peer``: the same call on the same insight ids with a multiclass task's labels (a class name),
  which checks the id and ``has_record`` alone: what a detection label cost before the check.

Both append their items as one entry and commit it (one fsync), as the API and the form do. The
figure is the ratio of their rates (check / peer): what the check leaves of a feedback call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bench.servers import REPO_ROOT
from bench.slices import paired_rates
from edgeloop.adapters.onnx_model import BundleError, OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.domain.detection_labels import DetectionLabel, MissedDefect
from edgeloop.domain.detection_task import FIELDS
from edgeloop.domain.images import ImageSource
from edgeloop.domain.tasks import DetectionTask, MulticlassTask
from edgeloop.recipes import detection_images
from edgeloop.service_layer.feedback import FeedbackItem, FeedbackService
from edgeloop.service_layer.image_scoring import ImageScoringService
from tools.example_models import build_bundle

FRAMES = 32


def detection_bundle(work: Path) -> Path:
    where = REPO_ROOT / "var" / "models" / "surface-detection"
    try:
        OnnxModel.load(where)
    except BundleError:
        where = work / "surface-detection"
        build_bundle("surface-detection", where)
    return where


def measure(items: int, seconds: float, rounds: int) -> tuple[list[float], list[float]]:
    """The peer's and the check's calls a second, pair by pair."""
    with tempfile.TemporaryDirectory(prefix="edgeloop-feedback-bench-") as tmp:
        model = OnnxModel.load(detection_bundle(Path(tmp)), intra_op_threads=1)
        task = model.manifest.task
        assert isinstance(task, DetectionTask), "the surface-detection bundle detects"
        outbox = SqliteOutbox(Path(tmp) / "outbox.sqlite3", 10**9)
        frames, _ = detection_images.generate(FRAMES, seed=5)
        scored = ImageScoringService(outbox, "bench", lambda: model, PillowDecoder()).score_frames(
            list(frames), ImageSource.camera("bench")
        )
        missed = (MissedDefect(task.classes[0], (0.1, 0.1, 0.3, 0.3)),)
        labelled = [
            FeedbackItem(
                image.insight_id, DetectionLabel((True,) * _found(image.prediction), missed).to_text()
            )
            for image in scored.images[:items]
        ]
        plain = [FeedbackItem(item.insight_id, task.classes[0]) for item in labelled]
        peer_task = MulticlassTask(task.classes, tuple(f"p_{name}" for name in task.classes))
        checking = FeedbackService(outbox, "bench", serving_task=lambda: task)
        peer = FeedbackService(outbox, "bench", serving_task=lambda: peer_task)
        rates = paired_rates(
            lambda: peer.record(plain), lambda: checking.record(labelled), 1, seconds, rounds
        )
        outbox.close()
    return rates


def _found(prediction: object) -> int:
    return len(prediction) // FIELDS if isinstance(prediction, list) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.feedback_check_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per item count")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved pairs of slices")
    parser.add_argument(
        "--items", type=int, action="append", help="items a call (repeatable; default 1 and 32)"
    )
    args = parser.parse_args(argv)
    print("| items a call | peer calls/s | check calls/s | check / peer (median of pairs) |")
    print("| --- | --- | --- | --- |")
    for items in args.items or [1, FRAMES]:
        peer, check = measure(items, args.seconds, args.rounds)
        ratio = statistics.median(c / p for p, c in zip(peer, check, strict=True))
        print(
            f"| {items} | {statistics.median(peer):,.0f} | {statistics.median(check):,.0f} | {ratio:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
