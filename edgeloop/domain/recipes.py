"""Training recipes: the data scientists' own training code, as the manifest declares it.

A manifest's optional ``recipe`` says how its model line is retrained::

    "recipe": {
      "entry_point": "package.module:function",
      "parameters": {...},                  # JSON, handed to the function as is
      "requirements": ["scikit-learn>=1.5"],  # what the function needs installed (pip specifiers)
      "time_limit_seconds": 1800,
      "base_data": {"uri": "data/x.csv", "format": "csv",
                    "columns": {"Source column": "feature_name", ...},
                    "label": "Source label column", "time": "Source time column"}
    }

The function is called as ``function(dataset, parameters)`` with a
:class:`TrainingDataset` and returns a :class:`RecipeResult`: the ONNX model's
bytes and the manifest fields it describes (inputs, outputs, task, ONNX mapping,
metrics, ...; Edgeloop adds name, version, files and time). ``base_data.uri`` is
a file path (CSV or Parquet) or ``blob://container/prefix`` (every CSV or Parquet
blob under it); a deployment may override it by setting. Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from edgeloop.domain.tasks import Task

if TYPE_CHECKING:  # the documents' module imports this one at run time
    from edgeloop.domain.task_documents import RecipeDocument

BaseDataFormat = Literal["csv", "parquet"]
Split = Literal["train", "validation", "holdout"]
SPLITS: tuple[Split, ...] = ("train", "validation", "holdout")
DEFAULT_TIME_LIMIT_SECONDS = 1800.0


@dataclass(frozen=True, slots=True)
class BaseDataSpec:
    uri: str
    format: BaseDataFormat
    columns: Mapping[str, str]  # source column -> feature name
    label: str  # the source column holding the label or target
    time: str | None = None  # the source column holding each row's time, if any

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "format": self.format,
            "columns": dict(self.columns),
            "label": self.label,
            "time": self.time,
        }


@dataclass(frozen=True, slots=True)
class RecipeSpec:
    entry_point: str  # "package.module:function"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    requirements: tuple[str, ...] = ()
    time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS
    base_data: BaseDataSpec | None = None

    @property
    def module(self) -> str:
        return self.entry_point.split(":", 1)[0]

    @property
    def function(self) -> str:
        return self.entry_point.split(":", 1)[1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_point": self.entry_point,
            "parameters": dict(self.parameters),
            "requirements": list(self.requirements),
            "time_limit_seconds": self.time_limit_seconds,
            "base_data": None if self.base_data is None else self.base_data.to_dict(),
        }


@dataclass(frozen=True)
class TrainingDataset:
    """What a recipe trains on: base rows first, then the sites' labelled rows; item ``i`` is row ``i``.

    ``features`` per manifest input (float64 for numbers, str objects for categories);
    ``labels`` int64 0/1 (binary), str class names (multiclass) or float64 (regression);
    ``site`` is "" for base rows; ``time`` is NaT where unknown; ``split`` says which
    rows a recipe may fit on ("train"), tune on ("validation"), or must leave alone ("holdout").
    """

    task: Task  # the champion's: what the rows are labelled for
    features: Mapping[str, npt.NDArray[Any]]
    labels: npt.NDArray[Any]
    site: npt.NDArray[np.object_]
    time: npt.NDArray[np.datetime64]
    split: npt.NDArray[np.object_]
    source: str  # a line for the model card: where the rows came from

    @property
    def n_rows(self) -> int:
        return int(self.labels.shape[0])

    def indices(self, split: Split) -> npt.NDArray[np.int64]:
        return np.flatnonzero(self.split == split).astype(np.int64)

    def rows(self, indices: npt.NDArray[np.int64]) -> list[dict[str, Any]]:
        """Rows as scoring-API objects (feature name -> value)."""
        columns = {name: values[indices].tolist() for name, values in self.features.items()}
        return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


@dataclass(frozen=True)
class RecipeResult:
    onnx_model: bytes
    manifest_fields: Mapping[str, Any]  # inputs, outputs, task, onnx_inputs, onnx_outputs, metrics, ...


def parse_recipe(document: RecipeDocument | None) -> RecipeSpec | None:
    """The manifest's ``recipe`` (structure already checked); None: not retrained here."""
    if document is None:
        return None
    base = document.base_data
    base_data = None
    if base is not None:
        base_data = BaseDataSpec(base.uri, base.format, dict(base.columns), base.label, base.time)
    return RecipeSpec(
        document.entry_point,
        dict(document.parameters),
        tuple(document.requirements),
        document.time_limit_seconds,
        base_data,
    )
