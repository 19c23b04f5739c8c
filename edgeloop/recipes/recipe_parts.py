"""What the example recipes share outside the graph: parameters, input specs, splits, the recipe block."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.manifest import MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION
from edgeloop.domain.recipes import BaseDataSpec, TrainingDataset

# A recipe's own needs all ship with Edgeloop (scikit-learn, skl2onnx, onnx, onnxruntime).
REQUIREMENTS: tuple[str, ...] = ()
TIME_LIMIT_SECONDS = 600.0  # both examples train in seconds; ten minutes means something hangs


# The fields describe a format-2 manifest (a task object); without these a reader assumes format 1.
FORMAT_FIELDS: Mapping[str, Any] = {"format": MANIFEST_FORMAT, "format_version": MANIFEST_FORMAT_VERSION}


class RecipeInputError(ValueError):
    """The dataset or parameters cannot train this recipe; the message names what is wrong."""


def merged_parameters(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` overridden by ``given``; an unknown name is an error (a typo must not pass silently)."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise RecipeInputError(f"unknown parameters {unknown}; known: {sorted(defaults)}")
    return {**defaults, **given}


def plausible_range(values: npt.NDArray[Any], margin: float) -> tuple[float, float]:
    """The observed range widened by ``margin`` x its span each side, never below 0, rounded out.

    The bounds reject impossible input (typos, wrong units); unusual values are scored
    and flagged by the OOD rule instead.
    """
    low, high = float(np.min(values)), float(np.max(values))
    span = max(high - low, 1e-3)
    return (
        math.floor(max(0.0, low - margin * span) * 1000) / 1000,
        math.ceil((high + margin * span) * 1000) / 1000,
    )


def number_input(
    name: str, unit: str, description: str, values: npt.NDArray[Any], margin: float
) -> dict[str, Any]:
    low, high = plausible_range(values, margin)
    return {"name": name, "type": "number", "unit": unit, "min": low, "max": high, "description": description}


def number_inputs(
    features: Sequence[tuple[str, str, str, str]], dataset: TrainingDataset, margin: float
) -> list[dict[str, Any]]:
    """A number input per ``(name, column, unit, description)`` feature, its range from ``dataset``."""
    return [
        number_input(name, unit, description, dataset.features[name], margin)
        for name, _, unit, description in features
    ]


def ood_fields(ood_output: str, threshold: float) -> dict[str, Any]:
    """The manifest's OOD rule: the output is a distance, so a row above ``threshold`` is unusual."""
    return {"ood_output": ood_output, "ood_threshold": threshold, "ood_direction": "above"}


def provenance_fields(
    metrics: Mapping[str, float], training_data: Mapping[str, Any], recipe: Mapping[str, Any]
) -> dict[str, Any]:
    """The manifest's closing fields: the holdout figures, the data trained on, how to retrain."""
    return {"metrics": rounded(metrics), "training_data": dict(training_data), "recipe": dict(recipe)}


def split_indices(dataset: TrainingDataset) -> tuple[npt.NDArray[np.int64], ...]:
    """``(train, validation, holdout)``; each must have rows."""
    parts = tuple(dataset.indices(split) for split in ("train", "validation", "holdout"))
    for split, indices in zip(("train", "validation", "holdout"), parts, strict=True):
        if indices.size == 0:
            raise RecipeInputError(f"the dataset has no {split} rows")
    return parts


def require_features(dataset: TrainingDataset, names: Sequence[str]) -> None:
    missing = [name for name in names if name not in dataset.features]
    if missing:
        raise RecipeInputError(f"the dataset lacks the features {missing}")


def numeric_matrix(dataset: TrainingDataset, names: Sequence[str]) -> npt.NDArray[np.float32]:
    """The named numeric features as one float32 ``[N, len(names)]`` matrix (the graph's input)."""
    return np.column_stack([np.asarray(dataset.features[name], dtype=np.float64) for name in names]).astype(
        np.float32
    )


def recipe_block(entry_point: str, parameters: Mapping[str, Any], base_data: BaseDataSpec) -> dict[str, Any]:
    """The manifest's ``recipe``: how this model line is retrained (edgeloop.domain.recipes)."""
    return {
        "entry_point": entry_point,
        "parameters": dict(parameters),
        "requirements": list(REQUIREMENTS),
        "time_limit_seconds": TIME_LIMIT_SECONDS,
        "base_data": base_data.to_dict(),
    }


def split_sizes(
    train: npt.NDArray[Any], validation: npt.NDArray[Any], holdout: npt.NDArray[Any]
) -> dict[str, int]:
    return {"train": int(train.size), "validation": int(validation.size), "holdout": int(holdout.size)}


def rounded(metrics: Mapping[str, float]) -> dict[str, float]:
    return {key: round(float(value), 6) for key, value in metrics.items()}
