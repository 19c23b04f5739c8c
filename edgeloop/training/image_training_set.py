"""An image model's retraining data: the recipe's generated base images plus the sites' labelled frames.

The base images come from the recipe's module, ``base_dataset(parameters) -> TrainingDataset``
(for the vision demo, edgeloop.recipes.surface_defects: the generated surfaces, split as the
champion's first bundle was), imported in the retraining worker; the recipe's ``train`` still
runs in its child process. The frames come as labelled rows whose image input holds the
frame's pixels (edgeloop.service_layer.labelled_frames: only frames a site's policy let out).
A frame is split by a hash of its insight id, as a site's row is; the base held-out images are
the trusted yardstick. Champion and challenger are scored as a site scores frames: the
manifest's preprocessing, one ``predict_images`` call. Golden rows are frames
(edgeloop.domain.golden_images).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from edgeloop.domain.golden_images import golden_image_row
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.images import InvalidImages
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.recipes import RecipeSpec, TrainingDataset
from edgeloop.domain.tasks import Task
from edgeloop.ports import ImageScoringModel, LabelledRow, ScoringModel, TrainingFailed
from edgeloop.training.base_data import BaseData
from edgeloop.training.challenger_trainer import RecipeTrainingData, golden_indices
from edgeloop.training.training_set import RetrainingSet, data_counts, insight_bucket, typed_labels

MAX_GOLDEN_FRAMES = 8  # each golden frame's pixels ride in golden.json


def base_images(recipe: RecipeSpec) -> TrainingDataset:
    """The recipe module's ``base_dataset(parameters)``; TrainingFailed when it has none or it fails."""
    try:
        make = getattr(importlib.import_module(recipe.module), "base_dataset", None)
    except ImportError as exc:
        raise TrainingFailed(f"recipe {recipe.entry_point}: {exc}") from None
    if make is None:
        raise TrainingFailed(
            f"recipe {recipe.entry_point} trains an image model but its module has no "
            "base_dataset(parameters) to give the base images"
        )
    try:
        dataset = make(dict(recipe.parameters))
    except Exception as exc:  # noqa: BLE001 - the data scientist's code: its error goes to the report
        raise TrainingFailed(f"base images: {type(exc).__name__}: {exc}") from None
    if not isinstance(dataset, TrainingDataset):
        returned = type(dataset).__name__
        raise TrainingFailed(f"base images: base_dataset returned {returned}, not a TrainingDataset")
    return dataset


def is_frame(value: Any) -> bool:
    """An ``H x W x 3`` uint8 RGB array (what the ImageDecoder port gives)."""
    return (
        isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim == 3 and value.shape[2] == 3
    )


def build_image_training_set(
    base: TrainingDataset, frames: Sequence[LabelledRow], manifest: ModelManifest, unlabelled: int = 0
) -> RetrainingSet:
    """``manifest`` is the champion's: its image input names the feature, its task the labels."""
    name, task = manifest.inputs[0].name, manifest.task
    kept = [row for row in frames if task.label_problem(row.label) is None and is_frame(row.inputs.get(name))]
    new_labels = typed_labels(task, [row.label for row in kept])
    dataset = joined_dataset(base, kept, name, task, new_labels)
    base_only = BaseData({}, base.labels, base.time, base.source, "")
    out_of_schema = len(frames) - len(kept)
    counts = data_counts(base_only, new_labels, manifest, len(frames), out_of_schema, 0, unlabelled, dataset)
    return RetrainingSet(dataset, base.indices("holdout"), counts)


def joined_dataset(
    base: TrainingDataset, kept: Sequence[LabelledRow], name: str, task: Task, new_labels: npt.NDArray[Any]
) -> TrainingDataset:
    """The base images then the ``kept`` frames (``name`` their input, ``task`` the champion's), each
    frame split by its insight's hash."""
    if name not in base.features:
        raise TrainingFailed(f"base images: the base dataset has no {name!r} feature")
    images = np.empty(base.n_rows + len(kept), dtype=object)  # frames of any size, one object each
    for index, frame in enumerate([*base.features[name], *(row.inputs[name] for row in kept)]):
        images[index] = frame
    buckets = np.array([insight_bucket(row.insight_id) for row in kept], dtype=np.int64)
    new_split = np.where(buckets <= 2, "train", np.where(buckets == 3, "validation", "holdout"))
    times = [row.scored_at.replace(tzinfo=None) if row.scored_at else None for row in kept]
    new_time = np.array([np.datetime64("NaT") if t is None else np.datetime64(t, "ns") for t in times])
    return TrainingDataset(
        task=task,
        features={name: images},
        labels=np.concatenate([base.labels, new_labels]),
        site=np.concatenate([base.site, np.array([row.site for row in kept], dtype=object)]),
        time=np.concatenate([base.time.astype("datetime64[ns]"), new_time.astype("datetime64[ns]")]),
        split=np.concatenate([base.split, new_split.astype(object)]),
        source=f"{base.source} + {len(kept)} labelled frames from the sites",
    )


class ImageTrainingData(RecipeTrainingData):
    """The TrainingData port over images: frames in, frames scored as a site scores them."""

    def golden_rows(self, count: int) -> list[dict[str, Any]]:
        dataset = self._training.dataset
        name = next(iter(dataset.features))
        chosen = golden_indices(dataset, dataset.indices("holdout"), min(count, MAX_GOLDEN_FRAMES))
        return [golden_image_row(name, dataset.features[name][index]) for index in chosen]

    def _model_outputs(
        self, key: str, model: ScoringModel, indices: npt.NDArray[np.int64]
    ) -> dict[str, npt.NDArray[Any]]:
        spec = model.manifest.image_input
        if spec is None or not hasattr(model, "predict_images"):
            raise TrainingFailed(f"the {key} takes rows, not images")
        frames = list(next(iter(self._training.dataset.features.values()))[indices])
        try:
            tensor = prepare_batch(frames, spec)
        except InvalidImages as exc:
            raise TrainingFailed(f"held-out frames the {key} cannot take: {exc}") from None
        outputs = cast(ImageScoringModel, model).predict_images(tensor)
        return {output: np.asarray(values) for output, values in outputs.items()}


def image_training_data(
    frames: Sequence[LabelledRow], champion: ModelManifest, recipe: RecipeSpec, unlabelled: int
) -> ImageTrainingData:
    """The image champion's retraining data: the recipe's base images plus ``frames``."""
    training = build_image_training_set(base_images(recipe), frames, champion, unlabelled)
    return ImageTrainingData(training, recipe)


def base_golden_rows(recipe: RecipeSpec, input_name: str, count: int) -> list[dict[str, Any]]:
    """Golden rows of a first image bundle: held-out base images of its recipe, one class each first."""
    base = base_images(recipe)
    chosen = golden_indices(base, base.indices("holdout"), min(count, MAX_GOLDEN_FRAMES))
    return [golden_image_row(input_name, np.asarray(base.features[input_name][index])) for index in chosen]
