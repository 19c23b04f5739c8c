"""The training profile drift is measured against, recorded in the manifest when a model is trained.

Every recipe's bundle gets one (edgeloop.training.recipes adds it to the recipe's manifest
fields): per input the recipe declares, its values on the dataset's ``train`` rows profiled
by edgeloop.domain.drift (quantile bins and shares for numbers, shares for categories).
A recipe that writes its own ``drift`` field keeps it (its own bins or thresholds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from edgeloop.domain.drift import DriftProfile, FeatureProfile, category_profile, number_profile
from edgeloop.domain.recipes import TrainingDataset


def with_drift_profile(fields: Mapping[str, Any], dataset: TrainingDataset) -> dict[str, Any]:
    """``fields`` plus ``drift``: the profile of the inputs they declare (unchanged if none can be made)."""
    inputs = fields.get("inputs")
    if fields.get("drift") is not None or not isinstance(inputs, list):
        return dict(fields)
    rows = dataset.indices("train")
    if rows.size == 0:  # a dataset without a split (a test's): every row is training data
        rows = np.arange(dataset.n_rows, dtype=np.int64)
    features: dict[str, FeatureProfile] = {}
    for item in inputs:
        profile = _feature_profile(item, dataset, rows)
        if profile is not None:
            features[str(item["name"])] = profile
    if not features:
        return dict(fields)
    return {**fields, "drift": DriftProfile(features, int(rows.size)).to_dict()}


def _feature_profile(item: Any, dataset: TrainingDataset, rows: np.ndarray) -> FeatureProfile | None:
    if not isinstance(item, Mapping) or item.get("name") not in dataset.features:
        return None
    values = dataset.features[item["name"]][rows]
    if item.get("type") == "number":
        numbers = np.asarray(values, dtype=np.float64)
        numbers = numbers[np.isfinite(numbers)]
        return number_profile(numbers) if numbers.size else None
    categories = item.get("categories")
    if item.get("type") == "category" and isinstance(categories, list) and values.size:
        return category_profile(tuple(str(name) for name in categories), values)
    return None
