"""The ChallengerTrainer port for any model with a recipe: base data + the sites' rows, the recipe fits.

Base data from the recipe's ``base_data`` (edgeloop.training.base_data; a setting may
point elsewhere), the training set and its split from edgeloop.training.training_set (an
image model's base images and frames: edgeloop.training.image_training_set; a detection
model's judged frames: edgeloop.training.detection_training_set), the fit by
the recipe in a child process (edgeloop.training.recipes), the figures per
task from edgeloop.training.evaluation, plots and the card from
edgeloop.training.model_card. Needs the ``train`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.recipes import RecipeSpec, TrainingDataset
from edgeloop.domain.validation import RowValidationError, validate_rows
from edgeloop.ports import (
    BlobReader,
    Comparison,
    DataCounts,
    LabelledRow,
    ModelManifest,
    ScoringModel,
    TrainedModel,
    TrainingFailed,
)
from edgeloop.training.base_data import BaseDataError, load_base_data
from edgeloop.training.evaluation import task_scores, unfit_outputs
from edgeloop.training.model_card import CARD_FILE, model_card, task_plots
from edgeloop.training.recipes import run_recipe
from edgeloop.training.training_set import RetrainingSet, build_training_set, class_names

Outputs = dict[str, npt.NDArray[Any]]


def golden_indices(dataset: TrainingDataset, indices: npt.NDArray[np.int64], count: int) -> list[int]:
    """Up to ``count`` of ``indices``: one row of each class first (classification), then in order."""
    chosen: list[int] = []
    if class_names(dataset.task):
        seen: set[str] = set()
        for index in indices.tolist():
            label = str(dataset.labels[index])
            if label not in seen:
                seen.add(label)
                chosen.append(index)
    for index in indices.tolist():
        if len(chosen) >= count:
            break
        if index not in chosen:
            chosen.append(index)
    return chosen[:count]


class RecipeTrainingData:
    """The TrainingData port over one :class:`~edgeloop.training.training_set.RetrainingSet`."""

    def __init__(self, training: RetrainingSet, recipe: RecipeSpec) -> None:
        self._training = training
        self._recipe = recipe
        self.counts: DataCounts = training.counts

    def golden_rows(self, count: int) -> list[dict[str, Any]]:
        dataset = self._training.dataset
        chosen = golden_indices(dataset, dataset.indices("holdout"), count)
        return dataset.rows(np.array(chosen, dtype=np.int64))

    def fit(self, version: str, on_step: Callable[[str], None]) -> TrainedModel:
        recipe = self._recipe
        on_step(f"Running recipe {recipe.entry_point} (time limit {recipe.time_limit_seconds:g} s)")
        result = run_recipe(recipe, self._training.dataset, on_output=on_step)
        return TrainedModel(result.onnx_model, dict(result.manifest_fields))

    def compare(self, models: dict[str, ScoringModel], curve_labels: dict[str, str]) -> Comparison:
        # Every held-out row is scored (a challenger with NaN anywhere there fails); the decision
        # uses the trusted (base) held-out rows, all held-out rows are reported too.
        dataset = self._training.dataset
        holdout = dataset.indices("holdout")
        labels = dataset.labels[holdout]
        outputs = {key: self._model_outputs(key, model, holdout) for key, model in models.items()}
        problem = unfit_outputs(models["challenger"].manifest.task, dataset.task, outputs["challenger"])
        if problem is not None:
            raise TrainingFailed(f"the challenger's outputs cannot be used: {problem}")
        trusted = dataset.site[holdout] == ""
        tasks = {key: model.manifest.task for key, model in models.items()}
        scores = {
            key: _scores(models[key], labels[trusted], _rows_of(values, trusted))
            for key, values in outputs.items()
        }
        plots = task_plots(
            labels[trusted],
            {curve_labels[key]: (tasks[key], _rows_of(values, trusted)) for key, values in outputs.items()},
        )
        every_class = set(class_names(dataset.task)) <= {str(label) for label in labels.tolist()}
        all_holdout = None
        if every_class:
            all_holdout = {key: _scores(models[key], labels, values) for key, values in outputs.items()}
        return Comparison(scores, all_holdout, plots)

    def sites(self) -> list[str]:
        return sorted({str(site) for site in self._training.dataset.site.tolist() if site})

    def slice_scores(
        self, models: Mapping[str, ScoringModel], sites: Collection[str]
    ) -> tuple[int, dict[str, dict[str, float]]]:
        dataset = self._training.dataset
        holdout = dataset.indices("holdout")
        chosen = holdout[np.isin(dataset.site[holdout], list(sites))]
        if not chosen.size:
            return 0, {key: {} for key in models}
        labels = dataset.labels[chosen]
        scores = {  # through _model_outputs: an image model's rows are frames (image_training_set)
            key: _scores(model, labels, self._model_outputs(key, model, chosen))
            for key, model in models.items()
        }
        return int(chosen.size), scores

    def _model_outputs(self, key: str, model: ScoringModel, indices: npt.NDArray[np.int64]) -> Outputs:
        return _outputs(key, model, self._training.dataset.rows(indices))


def _scores(model: ScoringModel, labels: npt.NDArray[Any], outputs: Outputs) -> dict[str, float]:
    """The model's figures; an image model's input size places a detection's boxes."""
    spec = model.manifest.image_input
    size = None if spec is None else (spec.width, spec.height)
    return task_scores(model.manifest.task, labels, outputs, size)


def _rows_of(outputs: Outputs, mask: npt.NDArray[np.bool_]) -> Outputs:
    return {name: np.asarray(values)[mask] for name, values in outputs.items()}


def _outputs(key: str, model: ScoringModel, rows: list[dict[str, Any]]) -> Outputs:
    try:
        columns = validate_rows(model.manifest, rows)
    except RowValidationError as exc:
        if key != "challenger":
            raise
        raise TrainingFailed(f"the challenger's input schema refuses held-out rows: {exc}") from None
    return {name: np.asarray(values) for name, values in model.predict(columns).items()}


class RecipeChallengerTrainer:
    """The ChallengerTrainer port: the recipe's base data (or ``base_data_uri``), seeded split, recipe fit.

    ``reader`` reads ``blob://container/prefix`` base data (the cloud account).
    """

    def __init__(
        self, reader: BlobReader | None = None, base_data_uri: str | None = None, seed: int = 7
    ) -> None:
        self._reader = reader
        self._base_data_uri = base_data_uri
        self._seed = seed

    def training_data(
        self, rows: Sequence[LabelledRow], champion: ModelManifest, recipe: RecipeSpec, unlabelled: int
    ) -> RecipeTrainingData:
        if champion.image_input is not None and recipe.base_data is None:
            # Base images from the recipe, frames from the sites (edgeloop.training.image_training_set).
            from edgeloop.training.detection_training_set import detection_training_data
            from edgeloop.training.image_training_set import image_training_data

            if champion.task.kind == "detection":
                return detection_training_data(rows, champion, recipe, unlabelled)
            return image_training_data(rows, champion, recipe, unlabelled)
        if recipe.base_data is None:
            raise TrainingFailed(f"recipe {recipe.entry_point} declares no base_data to train on")
        try:
            base = load_base_data(
                recipe.base_data,
                champion.task,
                inputs=champion.inputs,
                reader=self._reader,
                uri=self._base_data_uri,
            )
            training = build_training_set(base, rows, champion, self._seed, unlabelled)
        except BaseDataError as exc:
            raise TrainingFailed(f"base data: {exc}") from None
        return RecipeTrainingData(training, recipe)

    def model_card(self, report: Mapping[str, Any], plot_files: Sequence[str]) -> dict[str, bytes]:
        return {CARD_FILE: model_card(report, plot_files)}
