"""The demo's recipe: the AI4I 2020 machine-failure classifier (gradient boosting + an OOD score).

``edgeloop.recipes.ai4i_failure:train`` fits on the dataset's ``train`` rows, picks the
threshold on ``validation`` and reports metrics on ``holdout`` (edgeloop.training.demo_model
does the fitting and the ONNX export). Parameters: ``seed`` (7), ``n_estimators`` (100),
``range_margin`` (0.5). :func:`manifest_template` is the demo's recipe block and task for a
first bundle (``edgeloop train --data data/ai4i2020-train.csv``).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from edgeloop.domain.recipes import RecipeResult, TrainingDataset
from edgeloop.domain.tasks import V1_LABEL_NAMES
from edgeloop.recipes.ai4i_inputs import CSV_COLUMNS, NUMERIC_NAMES, TYPE_CATEGORIES
from edgeloop.training import onnx_export
from edgeloop.training.dataset import LABEL_COLUMN, Ai4iData
from edgeloop.training.demo_model import MODEL_NAME, fit_model

ENTRY_POINT = "edgeloop.recipes.ai4i_failure:train"
DEFAULT_BASE_DATA = "data/ai4i2020-train.csv"
DEFAULT_PARAMETERS: Mapping[str, Any] = {"seed": 7, "n_estimators": 100}
TIME_LIMIT_SECONDS = 900


def _progress(step: str) -> None:
    print(step, file=sys.stderr, flush=True)  # the runner relays the recipe's output as progress


def _ai4i_data(dataset: TrainingDataset) -> Ai4iData:
    for row, value in enumerate(dataset.features["type"].tolist(), start=1):
        if value not in TYPE_CATEGORIES:
            raise ValueError(f"row {row}, feature 'type': expected L, M or H, got {value!r}")
    numeric = np.column_stack([dataset.features[name] for name in NUMERIC_NAMES])
    labels = np.asarray(dataset.labels, dtype=np.int64)
    digest = hashlib.sha256(numeric.astype(np.float32).tobytes() + labels.tobytes())
    for value in dataset.features["type"].tolist():
        digest.update(str(value).encode())
    return Ai4iData(
        types=np.asarray(dataset.features["type"], dtype=object),
        numeric=numeric.astype(np.float32),
        labels=labels,
        source_name=dataset.source,
        source_sha256=digest.hexdigest(),
    )


def train(dataset: TrainingDataset, parameters: Mapping[str, Any]) -> RecipeResult:
    """Fit on the dataset's split; the manifest fields in format 2 (a binary task object)."""
    data = _ai4i_data(dataset)
    trained = fit_model(
        data,
        dataset.indices("train"),
        dataset.indices("validation"),
        dataset.indices("holdout"),
        version="recipe",  # Edgeloop sets the version
        seed=int(parameters.get("seed", 7)),
        n_estimators=int(parameters.get("n_estimators", 100)),
        range_margin=float(parameters.get("range_margin", 0.5)),
        on_step=_progress,
    )
    fields = dict(trained.manifest_fields)
    fields["format_version"] = 2
    fields["task"] = {
        "kind": "binary",
        "risk_output": fields.pop("risk_output"),
        "threshold": fields.pop("threshold"),
        "label_names": list(V1_LABEL_NAMES),
    }
    return RecipeResult(trained.onnx_bytes, fields)


def manifest_template(
    base_data: str = DEFAULT_BASE_DATA, parameters: Mapping[str, Any] = DEFAULT_PARAMETERS
) -> dict[str, Any]:
    """The demo model line: its name, task and recipe block (for ``edgeloop train``)."""
    return {
        "name": MODEL_NAME,
        "task": {
            "kind": "binary",
            "risk_output": onnx_export.RISK_OUTPUT,
            "threshold": 0.5,  # the recipe picks its own on the validation rows
            "label_names": list(V1_LABEL_NAMES),
        },
        "recipe": {
            "entry_point": ENTRY_POINT,
            "parameters": dict(parameters),
            "requirements": ["scikit-learn", "skl2onnx", "onnx"],
            "time_limit_seconds": TIME_LIMIT_SECONDS,
            "base_data": {
                "uri": base_data,
                "format": "csv",
                "columns": dict(CSV_COLUMNS),
                "label": LABEL_COLUMN,
                "time": None,
            },
        },
    }
