"""The ChallengerTrainer port for the demo model: AI4I base data + the sites' rows, gradient boosting.

Base data from the AI4I CSV (read once per run), the training set and its
split from :mod:`edgeloop.training.challenger`, the fit from
:mod:`edgeloop.training.demo_model`, curves and the card from
:mod:`edgeloop.training.model_card`. Needs the ``train`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.promotion import DataCounts, ModelScores
from edgeloop.domain.validation import validate_rows
from edgeloop.ports import Comparison, LabelledRow, ModelManifest, ScoringModel, TrainedModel
from edgeloop.training.challenger import TrainingSet, build_training_set, score_model
from edgeloop.training.dataset import load_ai4i
from edgeloop.training.demo_model import fit_model
from edgeloop.training.model_card import CARD_FILE, curve_plots, model_card


class Ai4iTrainingData:
    """The TrainingData port over one :class:`~edgeloop.training.challenger.TrainingSet`."""

    def __init__(self, training: TrainingSet, seed: int, n_estimators: int) -> None:
        self._training = training
        self._seed = seed
        self._n_estimators = n_estimators
        self.counts: DataCounts = training.counts

    def golden_rows(self, count: int) -> list[dict[str, Any]]:
        return self._training.rows(self._training.holdout[:count])

    def fit(self, version: str, on_step: Callable[[str], None]) -> TrainedModel:
        training = self._training
        return fit_model(
            training.data,
            training.train,
            training.validation,
            training.holdout,
            version=version,
            seed=self._seed,
            n_estimators=self._n_estimators,
            on_step=on_step,
        )

    def compare(self, models: dict[str, ScoringModel], curve_labels: dict[str, str]) -> Comparison:
        # The decision uses the trusted (base) held-out rows; all held-out rows are reported too.
        training = self._training
        labels = training.data.labels[training.trusted_holdout]
        rows = training.rows(training.trusted_holdout)
        risk = {key: _risk(model, rows) for key, model in models.items()}
        scores = {
            key: score_model(labels, risk[key], model.manifest.threshold) for key, model in models.items()
        }
        plots = curve_plots(labels, {curve_labels[key]: values for key, values in risk.items()})
        return Comparison(scores, self._all_holdout_scores(models), plots)

    def _all_holdout_scores(self, models: Mapping[str, ScoringModel]) -> dict[str, ModelScores] | None:
        """Every model on base + new held-out rows (informational); None if a class is absent there."""
        labels = self._training.data.labels[self._training.holdout]
        if len(set(labels.tolist())) < 2:
            return None
        rows = self._training.rows(self._training.holdout)
        return {
            key: score_model(labels, _risk(model, rows), model.manifest.threshold)
            for key, model in models.items()
        }


class Ai4iChallengerTrainer:
    """The ChallengerTrainer port: the base CSV at ``base_data``, seeded split and fit."""

    def __init__(self, base_data: Path, seed: int = 7, n_estimators: int = 100) -> None:
        self._base_data = base_data
        self._seed = seed
        self._n_estimators = n_estimators

    def training_data(
        self, rows: Sequence[LabelledRow], champion: ModelManifest, unlabelled: int
    ) -> Ai4iTrainingData:
        training = build_training_set(load_ai4i(self._base_data), rows, champion, self._seed, unlabelled)
        return Ai4iTrainingData(training, self._seed, self._n_estimators)

    def model_card(self, report: Mapping[str, Any]) -> dict[str, bytes]:
        return {CARD_FILE: model_card(report)}


def _risk(model: ScoringModel, rows: list[dict[str, Any]]) -> npt.NDArray[np.float64]:
    outputs = model.predict(validate_rows(model.manifest, rows))
    return np.asarray(outputs[model.manifest.risk_output], dtype=np.float64)
