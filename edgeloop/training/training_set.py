"""A retraining run's dataset: the base data joined with the sites' labelled rows, split.

Base rows keep a seeded 60/20/20 split (stratified by label for classification,
the same split ``edgeloop train`` gives a first bundle), so a champion trained here
or there never saw the base held-out rows: they are the trusted part of the held-out
set, the promotion decision's yardstick. The sites' rows are split 60/20/20 by a hash
of their insight id (stable across runs). New rows outside the champion's input
schema (or with a label its task does not know) are left out and counted, and so are
rows identical to a held-out base row (a replay of the base data would leak it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import train_test_split

from edgeloop.domain.manifest import InputSpec, ModelManifest
from edgeloop.domain.promotion import DataCounts
from edgeloop.domain.recipes import TrainingDataset
from edgeloop.domain.tasks import BinaryTask, MulticlassTask, Task
from edgeloop.ports import LabelledRow
from edgeloop.training.base_data import BaseData, BaseDataError

Indices = npt.NDArray[np.int64]
MIN_ROWS_PER_CLASS_TO_STRATIFY = 5


@dataclass(frozen=True)
class RetrainingSet:
    dataset: TrainingDataset
    trusted_holdout: Indices  # the base held-out rows only
    counts: DataCounts


def class_names(task: Task) -> tuple[str, ...]:
    """The task's classes as strings ("0", "1" for binary; none for regression)."""
    if isinstance(task, BinaryTask):
        return ("0", "1")
    if isinstance(task, MulticlassTask):
        return task.classes
    return ()


def seeded_split(labels: npt.NDArray[Any], seed: int, stratify: bool) -> tuple[Indices, Indices, Indices]:
    """The seeded 60/20/20 split into train, validation and held-out row indices.

    Stratified: the same calls as edgeloop.training.demo_model.split_indices, so both
    give a binary dataset the same split. A class too rare to stratify on drops the
    stratification (a plain seeded split).
    """
    indices = np.arange(labels.shape[0])
    if stratify:
        _, counts = np.unique(labels, return_counts=True)
        stratify = bool(counts.size and counts.min() >= MIN_ROWS_PER_CLASS_TO_STRATIFY)
    rest, test = train_test_split(
        indices, test_size=0.2, stratify=labels if stratify else None, random_state=seed
    )
    train, val = train_test_split(
        rest, test_size=0.25, stratify=labels[rest] if stratify else None, random_state=seed
    )
    return train.astype(np.int64), val.astype(np.int64), test.astype(np.int64)


def first_dataset(base: BaseData, task: Task, seed: int) -> TrainingDataset:
    """The base data alone, split (what a first bundle trains on)."""
    train, val, test = seeded_split(base.labels, seed, stratify=bool(class_names(task)))
    split = split_column(base.n_rows, train, val, test)
    site = np.full(base.n_rows, "", dtype=object)
    return TrainingDataset(task, base.features, base.labels, site, base.time, split, base.source)


def split_column(size: int, train: Indices, val: Indices, holdout: Indices) -> npt.NDArray[np.object_]:
    split = np.full(size, "train", dtype=object)
    split[val] = "validation"
    split[holdout] = "holdout"
    return split


def within_schema(manifest: ModelManifest, row: LabelledRow) -> bool:
    """Every input present, categories known, numbers within [min, max]; a label the task knows."""
    if manifest.task.label_problem(row.label) is not None:
        return False
    return all(_fits(spec, row.inputs.get(spec.name)) for spec in manifest.inputs)


def _fits(spec: InputSpec, value: Any) -> bool:
    if spec.type == "category":
        return value in (spec.categories or ())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return spec.min is None or spec.max is None or spec.min <= value <= spec.max


def _row_key(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(str(value) if isinstance(value, str) else round(float(value), 3) for value in values)


def insight_bucket(insight_id: str) -> int:
    return hashlib.sha256(insight_id.encode()).digest()[0] % 5  # 0-2 train, 3 validation, 4 holdout


def typed_labels(task: Task, labels: Sequence[Any]) -> npt.NDArray[Any]:
    if isinstance(task, BinaryTask):
        return np.array(labels, dtype=np.int64)
    if isinstance(task, MulticlassTask):
        out = np.empty(len(labels), dtype=object)
        out[:] = [str(label) for label in labels]
        return out
    return np.array(labels, dtype=np.float64)


def _column(spec: InputSpec, base: npt.NDArray[Any], rows: Sequence[LabelledRow]) -> npt.NDArray[Any]:
    if spec.type == "category":
        new = np.empty(len(rows), dtype=object)
        new[:] = [str(row.inputs[spec.name]) for row in rows]
        return np.concatenate([base.astype(object), new])
    new_numbers = np.array([float(row.inputs[spec.name]) for row in rows], dtype=np.float64)
    return np.concatenate([base.astype(np.float64), new_numbers])


def build_training_set(
    base: BaseData, new_rows: Sequence[LabelledRow], manifest: ModelManifest, seed: int, unlabelled: int = 0
) -> RetrainingSet:
    """``manifest`` is the champion's: its inputs and task filter the new rows and type the data."""
    missing = [name for name in manifest.feature_names if name not in base.features]
    if missing:
        raise BaseDataError(f"{base.source}: the base data maps no column to the inputs {missing}")
    task = manifest.task
    base_train, base_val, base_test = seeded_split(base.labels, seed, stratify=bool(class_names(task)))
    names = manifest.feature_names
    held_out = {_row_key([base.features[n][i] for n in names]) for i in base_test.tolist()}
    kept: list[LabelledRow] = []
    out_of_schema = duplicates = 0
    for row in new_rows:
        if not within_schema(manifest, row):
            out_of_schema += 1
        elif _row_key([row.inputs[n] for n in names]) in held_out:
            duplicates += 1
        else:
            kept.append(row)
    features = {spec.name: _column(spec, base.features[spec.name], kept) for spec in manifest.inputs}
    new_labels = typed_labels(task, [row.label for row in kept])
    labels = np.concatenate([base.labels, new_labels])
    buckets = np.array([insight_bucket(row.insight_id) for row in kept], dtype=np.int64)
    new_index = np.arange(base.n_rows, base.n_rows + len(kept), dtype=np.int64)
    train = np.concatenate([base_train, new_index[buckets <= 2]])
    val = np.concatenate([base_val, new_index[buckets == 3]])
    holdout = np.concatenate([base_test, new_index[buckets == 4]])
    site = np.concatenate(
        [np.full(base.n_rows, "", dtype=object), np.array([r.site for r in kept], dtype=object)]
    )
    new_times = [
        np.datetime64(r.scored_at.replace(tzinfo=None), "ns") if r.scored_at else np.datetime64("NaT")
        for r in kept
    ]
    time = np.concatenate([base.time, np.array(new_times, dtype="datetime64[ns]")])
    dataset = TrainingDataset(
        task=task,
        features=features,
        labels=labels,
        site=site,
        time=time,
        split=split_column(labels.shape[0], train, val, holdout),
        source=f"{base.source} + {len(kept)} labelled rows from the sites",
    )
    counts = data_counts(
        base, new_labels, manifest, len(new_rows), out_of_schema, duplicates, unlabelled, dataset
    )
    return RetrainingSet(dataset, base_test, counts)


def data_counts(
    base: BaseData,
    new_labels: npt.NDArray[Any],
    manifest: ModelManifest,
    new_rows: int,
    out_of_schema: int,
    duplicates: int,
    unlabelled: int,
    dataset: TrainingDataset,
) -> DataCounts:
    classes = class_names(manifest.task)
    fitting = np.concatenate([dataset.indices("train"), dataset.indices("validation")])
    holdout = dataset.indices("holdout")
    common: dict[str, Any] = {
        "base_rows": base.n_rows,
        "new_labelled_rows": new_rows,
        "out_of_schema_rows": out_of_schema,
        "duplicate_rows": duplicates,
        "unlabelled_insights": unlabelled,
        "champion_new_rows": int(manifest.training_data.get("new_labelled_rows", 0) or 0),
        "train_rows": int(fitting.size),
        "holdout_rows": int(holdout.size),
        "task": manifest.task.kind,
    }
    if not classes:
        std = float(np.std(base.labels)) if base.n_rows else 0.0
        return DataCounts(
            **common,
            base_target_mean=float(np.mean(base.labels)),
            base_target_std=std,
            new_target_mean=float(np.mean(new_labels)) if new_labels.size else None,
        )
    base_text, new_text = _texts(base.labels), _texts(new_labels)
    return DataCounts(
        **common,
        classes=classes,
        train_classes=tuple(sorted(set(_texts(dataset.labels[fitting])))),
        holdout_classes=tuple(sorted(set(_texts(dataset.labels[holdout])))),
        base_class_rates={name: base_text.count(name) / max(1, len(base_text)) for name in classes},
        new_class_rows={name: new_text.count(name) for name in classes},
    )


def _texts(values: npt.NDArray[Any]) -> list[str]:
    return [str(value) for value in values.tolist()]
