"""A camera's batches scored as one group (ImageScoringService.score_frame_batches), against its
plain reference: one ``score_frames`` call per batch.

Real parts: the tiny two-class ONNX graph in onnxruntime (tests/support/image_bundles.py) and the
SQLite outbox. The group makes one graph call per batch and records what the reference records,
frame for frame and in order, as one entry in one commit; a commit that fails records nothing of
the group."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.image_bundles import tiny_image_bundle
from support.image_files import uniform

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.domain.images import ImageBounds, ImageSource, InvalidImages
from edgeloop.ports import OutboxFull
from edgeloop.service_layer.image_scoring import ImageScoringService

Frames = list[npt.NDArray[np.uint8]]
CAMERA = ImageSource.camera("press-4")
SCORED_AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class CountingModel:
    """The real model, counting its graph calls (the only thing added to it)."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.manifest = model.manifest
        self.sha256 = model.sha256
        self.execution_providers = model.execution_providers
        self.calls: list[int] = []

    def predict(self, columns: Any) -> dict[str, npt.NDArray[np.float64]]:
        return self.model.predict(columns)

    def predict_images(self, batch: npt.NDArray[Any]) -> dict[str, npt.NDArray[np.float64]]:
        self.calls.append(len(batch))
        return self.model.predict_images(batch)


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> OnnxModel:
    return OnnxModel.load(tiny_image_bundle(tmp_path_factory.mktemp("tiny-vision") / "bundle"))


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SqliteOutbox]:
    box = SqliteOutbox(tmp_path / "outbox.sqlite3", 20)
    yield box
    box.close()


def service(outbox: SqliteOutbox, model: Any, bounds: ImageBounds | None = None) -> ImageScoringService:
    return ImageScoringService(
        outbox, "site-3", lambda: model, PillowDecoder(), bounds or ImageBounds(), clock=lambda: SCORED_AT
    )


def frames_of(levels: Sequence[int]) -> Frames:
    return [uniform(level) for level in levels]


def in_order(outbox: SqliteOutbox) -> list[dict[str, Any]]:
    """The outbox's records, oldest entry first and in order within each."""
    return list(reversed(outbox.recent("insight", 1000)))


def without_ids(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in record.items() if key != "insight_id"} for record in records]


batches_of_levels = st.lists(
    st.lists(st.integers(0, 255), min_size=1, max_size=6), min_size=1, max_size=4
)  # grey levels: dark, bright and the unsure middle


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(levels=batches_of_levels)
def test_a_group_records_what_one_call_per_batch_records_in_order(
    onnx_model: OnnxModel, levels: list[list[int]]
) -> None:
    batches = [frames_of(batch) for batch in levels]
    with tempfile.TemporaryDirectory() as folder:
        grouped_box = SqliteOutbox(Path(folder) / "grouped.sqlite3", 1000, synchronous="NORMAL")
        reference_box = SqliteOutbox(Path(folder) / "reference.sqlite3", 1000, synchronous="NORMAL")
        try:
            model = CountingModel(onnx_model)
            grouped = service(grouped_box, model).score_frame_batches(batches, CAMERA)
            assert model.calls == [len(batch) for batch in batches]  # one graph call per batch
            reference = [service(reference_box, onnx_model).score_frames(batch, CAMERA) for batch in batches]
            grouped_records, reference_records = in_order(grouped_box), in_order(reference_box)
            [entry] = grouped_box.claim(1000, 60)  # the group is one entry
        finally:
            grouped_box.close()
            reference_box.close()
    total = sum(map(len, batches))
    assert entry.record_count == total
    assert [record["insight_id"] for record in grouped_records] == [
        f"{grouped.batch_id}-{index:05d}" for index in range(total)
    ]
    assert [image.insight_id for image in grouped.images] == [r["insight_id"] for r in grouped_records]
    assert without_ids(grouped_records) == without_ids(reference_records)
    expected = [(image.prediction, image.anomaly_kinds) for scored in reference for image in scored.images]
    assert [(image.prediction, image.anomaly_kinds) for image in grouped.images] == expected


def test_a_group_the_outbox_cannot_take_records_nothing_of_it(
    outbox: SqliteOutbox, onnx_model: OnnxModel
) -> None:
    images = service(outbox, onnx_model)  # the outbox holds 20 records
    images.score_frame_batches([frames_of([10] * 4)], CAMERA)
    with pytest.raises(OutboxFull):
        images.score_frame_batches([frames_of([200] * 8), frames_of([30] * 8), frames_of([90] * 2)], CAMERA)
    assert outbox.depth() == 4  # all or nothing: no batch of the failed group went in
    images.score_frame_batches([frames_of([200] * 8), frames_of([30] * 8)], CAMERA)
    assert outbox.depth() == 20
    assert [record["prediction"] for record in in_order(outbox)] == ["dark"] * 4 + ["bright"] * 8 + [
        "dark"
    ] * 8


def test_each_batch_of_a_group_is_held_to_the_bounds_and_an_empty_group_records_nothing(
    outbox: SqliteOutbox, onnx_model: OnnxModel
) -> None:
    model = CountingModel(onnx_model)
    images = service(outbox, model, ImageBounds(max_images=3))
    images.score_frame_batches([frames_of([1, 2, 3]), frames_of([4, 5, 6])], CAMERA)  # 6 in all: fine
    assert outbox.depth() == 6
    with pytest.raises(InvalidImages, match="at most 3 images"):
        images.score_frame_batches([frames_of([1]), frames_of([1] * 4)], CAMERA)
    assert model.calls == [3, 3]  # refused before any graph call
    assert images.score_frame_batches([], CAMERA).images == ()
    assert outbox.depth() == 6
