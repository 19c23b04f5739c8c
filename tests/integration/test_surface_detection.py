"""The detection demo (edgeloop/recipes/surface_detection.py) on its generated surfaces: trained here on
150 images (the shipped bundle trains on 600), loaded by onnxruntime as a site
loads it, its model card holding the holdout's precision, recall and F1; fresh images of another seed
are found where their defects are; its insights, through the use case and the SQLite outbox, reach the
cloud's SQLite insight store whole; the recipe refuses data it cannot train on, naming why."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.images import ImageSource
from edgeloop.domain.records import InsightRecord, record_from_wire
from edgeloop.domain.tasks import DetectionTask
from edgeloop.recipes import detection_images, surface_detection
from edgeloop.recipes.recipe_parts import RecipeInputError
from edgeloop.service_layer.image_scoring import ImageScoringService
from edgeloop.training.bundle import write_bundle
from edgeloop.training.input_profile import with_drift_profile
from tools.example_models import manifest_document


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> OnnxModel:
    dataset = surface_detection.generated_dataset(count=150, seed=3)
    result = surface_detection.train(dataset, {})
    document = with_drift_profile(manifest_document(result, surface_detection.MODEL_NAME, "1"), dataset)
    bundle = tmp_path_factory.mktemp("surface-detection") / "bundle"
    write_bundle(bundle, document, {"model.onnx": result.onnx_model})
    return OnnxModel.load(bundle)


def test_the_generator_is_seeded_and_places_its_defects_apart() -> None:
    images, labels = detection_images.generate(20, seed=5)
    again, same = detection_images.generate(20, seed=5)
    assert images.shape == (20, 96, 96, 3)
    assert np.array_equal(images, again)
    assert labels == same
    assert {name for defects in labels for name, _ in defects} == set(detection_images.CLASSES)
    for defects in labels:
        centres = [((x1 + x2) / 2, (y1 + y2) / 2) for _, (x1, y1, x2, y2) in defects]
        for index, (x, y) in enumerate(centres):
            assert all(
                np.hypot(x - ox, y - oy) >= detection_images.MIN_GAP for ox, oy in centres[index + 1 :]
            )


def test_the_bundle_is_a_small_detection_model_with_its_model_card(model: OnnxModel) -> None:
    manifest = model.manifest
    assert isinstance(manifest.task, DetectionTask)
    assert manifest.task.classes == detection_images.CLASSES
    assert manifest.image_input == surface_detection.SPEC
    assert manifest.metrics["holdout_precision"] >= 0.8
    assert manifest.metrics["holdout_recall"] >= 0.6
    assert 0.0 < manifest.metrics["holdout_f1"] <= 1.0
    assert manifest.recipe is not None
    assert manifest.recipe.entry_point == surface_detection.ENTRY_POINT


def test_fresh_defects_are_found_where_they_are(model: OnnxModel) -> None:
    frames, labels = detection_images.generate(60, seed=987)
    spec = model.manifest.image_input
    task = model.manifest.task
    assert spec is not None
    assert isinstance(task, DetectionTask)
    detected = task.detect(model.predict_images(prepare_batch(list(frames), spec)), spec.width, spec.height)
    figures = surface_detection.detection_metrics(detected.detections, labels)
    assert figures["holdout_precision"] >= 0.8
    assert figures["holdout_recall"] >= 0.6


def test_detection_insights_reach_the_cloud_store_whole(model: OnnxModel, tmp_path: Path) -> None:
    frames, _ = detection_images.generate(4, seed=11)
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite3", 1000)
    images = ImageScoringService(outbox, "site-press", lambda: model, PillowDecoder())
    scored = images.score_frames(list(frames), ImageSource.camera("press-1"))
    wire = outbox.recent("insight", 10)
    outbox.close()
    records = [record_from_wire(record) for record in wire]
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    store.upsert([record for record in records if isinstance(record, InsightRecord)])
    for image in scored.images:
        stored = store.get("site-press", image.insight_id)
        assert stored is not None
        assert stored.record.model.task == "detection"
        assert stored.record.prediction == [v for d in image.result(())["detections"] for v in _flat(d)]
    store.close()


def _flat(detection: dict[str, object]) -> list[object]:
    box = detection["box"]
    assert isinstance(box, list)
    return [detection["class"], detection["score"], *box]


def test_the_recipe_refuses_what_it_cannot_train_on() -> None:
    dataset = surface_detection.generated_dataset(count=10, seed=3)
    with pytest.raises(RecipeInputError, match="epochs"):
        surface_detection.train(dataset, {"epochs": 3})
    with pytest.raises(RecipeInputError, match="no 'image' feature"):
        surface_detection.train(replace(dataset, features={"torque": np.zeros(10)}), {})
    labels = dataset.labels.copy()
    labels[0] = (("dent", (1.0, 1.0, 5.0, 5.0)),)
    with pytest.raises(RecipeInputError, match="classes spot, scratch"):
        surface_detection.train(replace(dataset, labels=labels), {})
