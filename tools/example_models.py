"""The example models' first bundles: each recipe trained on its base data, written to var/models/<name>.

    python -m tools.example_models failure-mode [--out var/models/failure-mode] [--version 1]
    python -m tools.example_models tool-life
    python -m tools.example_models surface-defects   (generated images: edgeloop/recipes/surface_images.py)
    python -m tools.example_models surface-detection (defects placed: edgeloop/recipes/detection_images.py)

The dataset is read as the recipe's ``base_data`` declares (columns mapped to features,
the label column), every row a base row, split 60/20/20 with a seed (stratified by
class for a multiclass task). The bundle is written atomically by
edgeloop.training.bundle; it is signed when it is published to the registry
(``make run`` publishes the served model as the first champion).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import train_test_split

from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.recipes import BaseDataSpec, RecipeResult, TrainingDataset
from edgeloop.domain.tasks import MulticlassTask, RegressionTask, Task
from edgeloop.recipes import ai4i_failure_mode, surface_defects, surface_detection, tool_life
from edgeloop.training.bundle import write_bundle
from edgeloop.training.input_profile import with_drift_profile

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL_FILE = "model.onnx"
SPLIT_SEED = 7


@dataclass(frozen=True)
class ExampleModel:
    name: str  # the manifest's model name
    base_data: BaseDataSpec | None  # None: the recipe's data is generated (``dataset``)
    task: Task
    train: Callable[[TrainingDataset, Mapping[str, Any]], RecipeResult]
    dataset: Callable[[], TrainingDataset] | None = None  # generated base data, split


EXAMPLES: Mapping[str, ExampleModel] = {
    "failure-mode": ExampleModel(
        ai4i_failure_mode.MODEL_NAME,
        ai4i_failure_mode.BASE_DATA,
        ai4i_failure_mode.task(),
        ai4i_failure_mode.train,
    ),
    "tool-life": ExampleModel(tool_life.MODEL_NAME, tool_life.BASE_DATA, tool_life.task(), tool_life.train),
    "surface-defects": ExampleModel(
        surface_defects.MODEL_NAME,
        None,
        surface_defects.task(),
        surface_defects.train,
        surface_defects.generated_dataset,
    ),
    "surface-detection": ExampleModel(
        surface_detection.MODEL_NAME,
        None,
        surface_detection.task(),
        surface_detection.train,
        surface_detection.generated_dataset,
    ),
}


def _number_or_text(values: list[str]) -> npt.NDArray[Any]:
    """float64 when every value is a finite number, else str objects (a category)."""
    try:
        numbers = np.array([float(value) for value in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=object)
    if not all(math.isfinite(number) for number in numbers.tolist()):
        raise ValueError("numeric column with a non-finite value")
    return numbers


def _labels(values: list[str], task: Task) -> npt.NDArray[Any]:
    if isinstance(task, MulticlassTask):
        return np.array(values, dtype=object)
    if isinstance(task, RegressionTask):
        return np.array([float(value) for value in values], dtype=np.float64)
    return np.array([int(value) for value in values], dtype=np.int64)


def split_column(labels: npt.NDArray[Any], task: Task, seed: int = SPLIT_SEED) -> npt.NDArray[np.object_]:
    """Seeded 60/20/20 train/validation/holdout, stratified by the label unless it is a number."""
    rows = np.arange(labels.shape[0])
    strata = None if isinstance(task, RegressionTask) else labels
    rest, holdout = train_test_split(rows, test_size=0.2, stratify=strata, random_state=seed)
    rest_strata = None if strata is None else strata[rest]
    train, validation = train_test_split(rest, test_size=0.25, stratify=rest_strata, random_state=seed)
    split = np.empty(labels.shape[0], dtype=object)
    split[train], split[validation], split[holdout] = "train", "validation", "holdout"
    return split


def dataset_from_csv(
    path: Path, base_data: BaseDataSpec, task: Task, seed: int = SPLIT_SEED
) -> TrainingDataset:
    """The base rows of a CSV as a recipe sees them (base rows only: site "", time unknown)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        records = list(csv.DictReader(handle))
    missing = [c for c in (*base_data.columns, base_data.label) if records and c not in records[0]]
    if not records or missing:
        raise ValueError(f"{path}: no rows, or missing columns {missing}")
    features = {
        name: _number_or_text([record[column] for record in records])
        for column, name in base_data.columns.items()
    }
    labels = _labels([record[base_data.label] for record in records], task)
    n_rows = len(records)
    return TrainingDataset(
        task=task,
        features=features,
        labels=labels,
        site=np.full(n_rows, "", dtype=object),
        time=np.full(n_rows, np.datetime64("NaT"), dtype="datetime64[s]"),
        split=split_column(labels, task, seed),
        source=f"{path.name} ({n_rows} rows)",
    )


def manifest_document(result: RecipeResult, name: str, version: str) -> dict[str, Any]:
    """The recipe's fields plus what Edgeloop adds (name, version, time, model file), without ``files``."""
    return {
        **result.manifest_fields,
        "name": name,
        "version": version,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model_file": MODEL_FILE,
    }


@dataclass(frozen=True)
class TrainedExample:
    dataset: TrainingDataset  # the base data as the recipe saw it, split
    result: RecipeResult
    bundle: Path
    manifest: ModelManifest


def train_example(
    key: str, out_dir: Path, version: str = "1", parameters: Mapping[str, Any] | None = None
) -> TrainedExample:
    """Train example ``key`` on its base data and write its bundle to ``out_dir``."""
    example = EXAMPLES[key]
    if example.dataset is not None:
        dataset = example.dataset()
    elif example.base_data is not None:
        dataset = dataset_from_csv(REPO_ROOT / example.base_data.uri, example.base_data, example.task)
    else:
        raise ValueError(f"example {key}: neither base data nor a dataset")
    result = example.train(dataset, parameters or {})
    document = with_drift_profile(manifest_document(result, example.name, version), dataset)
    manifest = write_bundle(out_dir, document, {MODEL_FILE: result.onnx_model})
    return TrainedExample(dataset, result, out_dir, manifest)


def build_bundle(
    key: str, out_dir: Path, version: str = "1", parameters: Mapping[str, Any] | None = None
) -> ModelManifest:
    """``train_example`` for a caller that needs only the bundle's manifest."""
    return train_example(key, out_dir, version, parameters).manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.example_models", description=__doc__.splitlines()[0]
    )
    parser.add_argument("model", choices=sorted(EXAMPLES))
    parser.add_argument("--out", type=Path, help="bundle directory (default var/models/<model>)")
    parser.add_argument("--version", default="1")
    args = parser.parse_args(argv)
    out = args.out or REPO_ROOT / "var" / "models" / args.model
    manifest = build_bundle(args.model, out, args.version)
    figures = ", ".join(
        f"{key} {value:.4g}" for key, value in manifest.metrics.items() if key.startswith("holdout_")
    )
    print(f"wrote {out}: {manifest.name} {manifest.version} ({manifest.task.kind}; {figures})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
