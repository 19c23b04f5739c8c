"""The vision demo (edgeloop/recipes/surface_defects.py) on its generated images: the bundle loads
in onnxruntime as a site loads it, its model card holds the held-out figures, fresh images of
another seed are told apart, and the recipe refuses data it cannot train on, naming why."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from support.image_bundles import surface_bundle

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.tasks import MulticlassTask
from edgeloop.recipes import surface_defects, surface_images
from edgeloop.recipes.recipe_parts import RecipeInputError


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> OnnxModel:
    return OnnxModel.load(surface_bundle(tmp_path_factory.mktemp("surface")))


def test_the_generator_is_seeded_and_makes_every_class() -> None:
    first, labels = surface_images.generate([3, 3, 3, 3], seed=5)
    again, same_labels = surface_images.generate([3, 3, 3, 3], seed=5)
    other, _ = surface_images.generate([3, 3, 3, 3], seed=6)
    assert first.shape == (12, 64, 64, 3)
    assert first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert labels == same_labels
    assert not np.array_equal(first, other)
    assert sorted(set(labels)) == sorted(surface_images.CLASSES)


def test_the_bundle_is_a_small_image_model_with_its_model_card(model: OnnxModel) -> None:
    manifest = model.manifest
    assert manifest.image_input == surface_defects.SPEC
    assert isinstance(manifest.task, MulticlassTask)
    assert manifest.task.alert_classes == ("scratch", "spot", "crack")
    assert manifest.metrics["holdout_accuracy"] >= 0.85
    assert manifest.metrics["holdout_macro_f1"] >= 0.85
    assert manifest.recipe is not None
    assert manifest.recipe.entry_point == surface_defects.ENTRY_POINT
    assert manifest.training_data["rows"] == 2000


def test_fresh_images_of_another_seed_are_told_apart(model: OnnxModel) -> None:
    frames, labels = surface_images.generate([50, 50, 50, 50], seed=12345)
    spec = model.manifest.image_input
    assert spec is not None
    outputs = model.predict_images(prepare_batch(list(frames), spec))
    task = model.manifest.task
    assert isinstance(task, MulticlassTask)
    predicted = task.predicted_classes(outputs)
    accuracy = np.mean([guess == truth for guess, truth in zip(predicted, labels, strict=True)])
    assert accuracy >= 0.85
    ok_called_defect = [g != "ok" for g, t in zip(predicted, labels, strict=True) if t == "ok"]
    assert np.mean(ok_called_defect) <= 0.2


def test_the_recipe_refuses_what_it_cannot_train_on() -> None:
    dataset = surface_defects.generated_dataset(per_class=10, seed=3)
    with pytest.raises(RecipeInputError, match="epochs"):
        surface_defects.train(dataset, {"epochs": 3})
    with pytest.raises(RecipeInputError, match="no 'image' feature"):
        surface_defects.train(replace(dataset, features={"torque": np.zeros(40)}), {})
    labels = dataset.labels.copy()
    labels[0] = "dent"
    with pytest.raises(RecipeInputError, match="labels must be classes"):
        surface_defects.train(replace(dataset, labels=labels), {})
