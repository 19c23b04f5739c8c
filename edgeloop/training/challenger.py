"""Retraining data and evaluation: the site's labelled rows joined to the base data, and the scores.

The base data (AI4I CSV) keeps the demo's seeded 60/20/20 split, so every
champion trained here or by ``edgeloop train`` has never seen the base test
rows: they are the trusted part of the held-out set. New rows from the sites
are split 60/20/20 too, by a hash of their insight id (stable across runs).
New rows outside the champion's input schema are left out (counted), and so are
rows identical to a held-out base row (a replay of the base data would leak it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from edgeloop.domain.manifest import InputSpec, ModelManifest
from edgeloop.domain.promotion import DataCounts, ModelScores
from edgeloop.ports import LabelledRow
from edgeloop.training.dataset import NUMERIC_FEATURES, Ai4iData, scoring_rows
from edgeloop.training.demo_model import split_indices

FEATURES = ("type", *(name for name, _, _, _ in NUMERIC_FEATURES))
ECE_BINS = 10


@dataclass(frozen=True)
class TrainingSet:
    data: Ai4iData  # base rows first, then the usable new rows
    train: npt.NDArray[np.int64]
    validation: npt.NDArray[np.int64]
    holdout: npt.NDArray[np.int64]  # base test rows, then new held-out rows
    trusted_holdout: npt.NDArray[np.int64]  # the base test rows only: the promotion decision's yardstick
    counts: DataCounts

    def rows(self, indices: npt.NDArray[np.int64]) -> list[dict[str, Any]]:
        """Rows as scoring-API objects (feature name -> value)."""
        return scoring_rows(self.data, indices.tolist())


def within_schema(manifest: ModelManifest, inputs: dict[str, Any]) -> bool:
    """Every feature present, categories known, numbers within the manifest's [min, max]."""
    if {spec.name for spec in manifest.inputs} != set(FEATURES):
        return False
    return all(_fits(spec, inputs.get(spec.name)) for spec in manifest.inputs)


def _fits(spec: InputSpec, value: Any) -> bool:
    if spec.type == "category":
        return value in (spec.categories or ())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return spec.min is None or spec.max is None or spec.min <= value <= spec.max


def _row_key(type_value: str, numeric: Sequence[float]) -> tuple[Any, ...]:
    return (type_value, *(round(float(value), 3) for value in numeric))


def _bucket(insight_id: str) -> int:
    return hashlib.sha256(insight_id.encode()).digest()[0] % 5  # 0-2 train, 3 validation, 4 holdout


def build_training_set(
    base: Ai4iData,
    new_rows: Sequence[LabelledRow],
    manifest: ModelManifest,
    seed: int,
    unlabelled: int = 0,
) -> TrainingSet:
    """``manifest`` is the champion's: its input schema filters the new rows."""
    base_train, base_val, base_test = split_indices(base.labels, seed)
    held_out_keys = {_row_key(base.types[i], base.numeric[i].tolist()) for i in base_test.tolist()}
    kept: list[LabelledRow] = []
    out_of_schema = duplicates = 0
    for row in new_rows:
        if not within_schema(manifest, row.inputs):
            out_of_schema += 1
            continue
        key = _row_key(str(row.inputs["type"]), [row.inputs[name] for name in FEATURES[1:]])
        if key in held_out_keys:
            duplicates += 1
            continue
        kept.append(row)
    types = np.concatenate([base.types, np.array([r.inputs["type"] for r in kept], dtype=object)])
    new_numeric = np.array([[r.inputs[name] for name in FEATURES[1:]] for r in kept], dtype=np.float32)
    numeric = np.vstack([base.numeric, new_numeric.reshape(-1, len(NUMERIC_FEATURES))])
    labels = np.concatenate([base.labels, np.array([r.label for r in kept], dtype=np.int64)])
    buckets = np.array([_bucket(r.insight_id) for r in kept], dtype=np.int64)
    offset = base.n_rows
    new_index = np.arange(offset, offset + len(kept), dtype=np.int64)
    train = np.concatenate([base_train, new_index[buckets <= 2]])
    val = np.concatenate([base_val, new_index[buckets == 3]])
    holdout = np.concatenate([base_test, new_index[buckets == 4]])
    data = Ai4iData(
        types=types,
        numeric=numeric.astype(np.float32),
        labels=labels,
        source_name=f"{base.source_name} + {len(kept)} labelled rows from the sites",
        source_sha256=base.source_sha256,
    )
    counts = DataCounts(
        base_rows=base.n_rows,
        base_positive_rate=float(base.labels.mean()),
        new_labelled_rows=len(new_rows),
        new_positive_rows=sum(r.label for r in kept),
        out_of_schema_rows=out_of_schema,
        duplicate_rows=duplicates,
        unlabelled_insights=unlabelled,
        champion_new_rows=int(manifest.training_data.get("new_labelled_rows", 0) or 0),
        train_rows=int(train.size + val.size),
        train_classes=tuple(sorted(set(labels[np.concatenate([train, val])].tolist()))),
        holdout_rows=int(holdout.size),
        holdout_classes=tuple(sorted(set(labels[holdout].tolist()))),
    )
    return TrainingSet(data, train, val, holdout, base_test, counts)


def expected_calibration_error(labels: npt.NDArray[Any], scores: npt.NDArray[np.float64]) -> float:
    """Mean |observed rate - mean score| over equal-width score bins, weighted by bin size."""
    bins = np.minimum((scores * ECE_BINS).astype(int), ECE_BINS - 1)
    total = 0.0
    for index in range(ECE_BINS):
        mask = bins == index
        if mask.any():
            total += mask.sum() * abs(float(labels[mask].mean()) - float(scores[mask].mean()))
    return total / max(1, len(scores))


def score_model(labels: npt.NDArray[Any], risk: npt.NDArray[np.float64], threshold: float) -> ModelScores:
    return ModelScores(
        roc_auc=float(roc_auc_score(labels, risk)),
        average_precision=float(average_precision_score(labels, risk)),
        f1_at_threshold=float(f1_score(labels, risk >= threshold, zero_division=0.0)),
        brier=float(np.mean((risk - labels) ** 2)),
        ece=expected_calibration_error(labels, risk),
        threshold=float(threshold),
    )
