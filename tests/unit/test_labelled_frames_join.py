"""Joining the frames the sites let out with their labels, by insight id (labelled_frames.LabelledFrames).

The frames container is an in-memory BlobReader here (a test double: Azurite's container is
exercised end to end by tests/integration/test_vision_loop.py); the decoder is the real Pillow one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from support.image_files import encoded

from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.recipes import RecipeSpec
from edgeloop.ports import LabelledRow, TrainingFailed
from edgeloop.recipes import surface_defects
from edgeloop.service_layer.labelled_frames import LabelledFrames, frame_rows
from edgeloop.training.image_training_set import base_images, build_image_training_set, is_frame
from edgeloop.wire.storage_layout import FRAMES_CONTAINER

SINCE = datetime(2026, 12, 1, tzinfo=UTC)
FRAME = np.full((6, 5, 3), 77, dtype=np.uint8)


class MemoryBlobs:
    """A BlobReader over a dict (test double)."""

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}

    def list_names(self, container: str, prefix: str | None = None) -> list[str]:
        return sorted(n for c, n in self.blobs if c == container and n.startswith(prefix or ""))

    def get(self, container: str, name: str) -> bytes:
        return self.blobs[(container, name)]

    def put_frame(self, site: str, date: str, frame_id: str, insight_id: str, data: bytes) -> None:
        stem = f"site={site}/date={date}/{frame_id}"
        document = {
            "frame_id": frame_id,
            "insight_id": insight_id,
            "site_id": site,
            "media_type": "image/png",
        }
        document["captured_at"] = f"{date}T10:00:00Z"
        self.blobs[(FRAMES_CONTAINER, f"{stem}.png")] = data
        self.blobs[(FRAMES_CONTAINER, f"{stem}.json")] = json.dumps(document).encode()


def label(insight_id: str, value: str = "crack", site: str = "") -> LabelledRow:
    return LabelledRow(insight_id, {}, value, site)


def test_only_labelled_readable_frames_within_the_lookback_are_joined() -> None:
    blobs = MemoryBlobs()
    blobs.put_frame("plant-1", "2026-12-02", "f1", "i1", encoded(FRAME))
    blobs.put_frame("plant-2", "2026-12-03", "f2", "i2", encoded(FRAME))
    blobs.put_frame("plant-1", "2026-12-02", "f3", "i3", encoded(FRAME))  # no label
    blobs.put_frame("plant-1", "2026-12-02", "f4", "i4", b"\x89PNG\r\n\x1a\n broken")  # does not decode
    blobs.put_frame("plant-1", "2026-11-01", "f5", "i5", encoded(FRAME))  # before the lookback
    labelled = [label("i1", "scratch"), label("i2", site="plant-2"), label("i4"), label("i5"), label("i9")]

    join = LabelledFrames(blobs, PillowDecoder()).join(labelled, SINCE, "image")

    assert [(row.insight_id, row.label, row.site) for row in join.rows] == [
        ("i1", "scratch", "plant-1"),
        ("i2", "crack", "plant-2"),
    ]
    assert all(np.array_equal(row.inputs["image"], FRAME) for row in join.rows)
    assert join.rows[0].scored_at == datetime(2026, 12, 2, 10, tzinfo=UTC)
    report = join.report()
    assert report == {
        "labelled_frames": 2,
        "sites": {"plant-1": 1, "plant-2": 1},
        "frames_in_cloud": 4,
        "unlabelled_frames": 1,
        "unreadable_frames": 1,
        "labels_without_frame": 3,  # i4 (unreadable), i5 (too old), i9 (its frame stayed on site)
        "refused_frames": 0,  # read without a verifying reader (signatures: test_site_signatures_azurite.py)
    }


def test_no_frames_container_or_no_frame_let_out_says_so() -> None:
    rows, report = frame_rows(None, [label("i1")], SINCE, "image")
    assert rows == []
    assert report["labelled_frames"] == 0
    assert report["labels_without_frame"] == 1
    assert "default deny" in report["note"]
    _, empty = frame_rows(LabelledFrames(MemoryBlobs(), PillowDecoder()), [], SINCE, "image")
    assert empty["frames_in_cloud"] == 0
    assert "note" in empty


def test_frames_join_the_base_images_split_by_insight_id_and_counted() -> None:
    base = surface_defects.generated_dataset(per_class=5, seed=3)
    frames = [LabelledRow(f"insight-{i}", {"image": FRAME}, "spot", "plant-1") for i in range(10)]
    frames.append(LabelledRow("wrong-class", {"image": FRAME}, "wobble", "plant-1"))
    champion = _manifest()

    training = build_image_training_set(base, frames, champion)

    dataset = training.dataset
    assert dataset.n_rows == base.n_rows + 10
    assert all(is_frame(image) for image in dataset.features["image"])
    assert list(dataset.site[base.n_rows :]) == ["plant-1"] * 10
    assert list(dataset.split[: base.n_rows]) == list(base.split)  # the champion's split of the base
    assert np.array_equal(training.trusted_holdout, base.indices("holdout"))
    counts = training.counts
    assert (counts.new_labelled_rows, counts.out_of_schema_rows, counts.usable_new_rows) == (11, 1, 10)
    assert counts.new_class_rows == {"ok": 0, "scratch": 0, "spot": 10, "crack": 0}


def test_an_image_recipe_without_base_images_fails_the_run_naming_it() -> None:
    with pytest.raises(TrainingFailed, match="has no base_dataset"):
        base_images(RecipeSpec("edgeloop.recipes.ai4i_failure:train"))
    with pytest.raises(TrainingFailed, match="unknown parameters"):
        base_images(RecipeSpec(surface_defects.ENTRY_POINT, {"base_per_klass": 3}))
    with pytest.raises(TrainingFailed, match="no_such_module"):
        base_images(RecipeSpec("no_such_module:train"))


def _manifest() -> ModelManifest:
    """The demo recipe's manifest (trained on 20 generated images: a second or so)."""
    parameters = {"base_per_class": 5}
    result = surface_defects.train(surface_defects.base_dataset(parameters), parameters)
    document = {**result.manifest_fields, "name": "surface-defects", "version": "1"}
    document |= {"created_at": "2026-12-01T00:00:00Z", "model_file": "model.onnx"}
    document["files"] = {"model.onnx": "0" * 64}
    return ModelManifest.from_dict(document)
