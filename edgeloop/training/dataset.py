"""Loading the AI4I 2020 predictive-maintenance CSV into feature arrays.

Only the six process features are inputs; the failure-mode columns (TWF..RNF)
describe the failure after the fact and are never read.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.recipes.ai4i_inputs import NUMERIC_FEATURES, TYPE_CATEGORIES, TYPE_COLUMN

LABEL_COLUMN = "Machine failure"


class TrainingDataError(ValueError):
    """The training CSV cannot be used; the message names the line and column."""


@dataclass(frozen=True)
class Ai4iData:
    types: npt.NDArray[np.object_]  # "L" / "M" / "H"
    numeric: npt.NDArray[np.float32]  # columns as NUMERIC_FEATURES
    labels: npt.NDArray[np.int64]
    source_name: str
    source_sha256: str

    @property
    def n_rows(self) -> int:
        return int(self.labels.shape[0])


def scoring_rows(data: Ai4iData, indices: Iterable[int]) -> list[dict[str, Any]]:
    """Rows as scoring-API objects (feature name -> value)."""
    rows = []
    for index in indices:
        row: dict[str, Any] = {"type": str(data.types[index])}
        for column, (name, _, _, _) in enumerate(NUMERIC_FEATURES):
            # float32 -> float: round away the float32 noise (302.2 -> 302.20001...).
            row[name] = round(float(data.numeric[index, column]), 4)
        rows.append(row)
    return rows


def load_ai4i(path: Path) -> Ai4iData:
    raw = path.read_bytes()
    lines = raw.decode("utf-8-sig").splitlines()
    reader = csv.DictReader(lines)
    needed = [TYPE_COLUMN, LABEL_COLUMN, *(column for _, column, _, _ in NUMERIC_FEATURES)]
    missing = [column for column in needed if column not in (reader.fieldnames or [])]
    if missing:
        raise TrainingDataError(f"{path}: missing columns {missing}")
    types: list[str] = []
    numeric: list[list[float]] = []
    labels: list[int] = []
    for line_number, row in enumerate(reader, start=2):
        types.append(_category(row, line_number))
        numeric.append([_number(row, column, line_number) for _, column, _, _ in NUMERIC_FEATURES])
        labels.append(_label(row, line_number))
    if not labels:
        raise TrainingDataError(f"{path}: no data rows")
    label_array = np.array(labels, dtype=np.int64)
    if label_array.sum() < 10 or label_array.sum() > len(labels) - 10:
        raise TrainingDataError(f"{path}: needs at least 10 rows of each class in {LABEL_COLUMN!r}")
    type_array = np.empty(len(types), dtype=object)
    type_array[:] = types
    return Ai4iData(
        types=type_array,
        numeric=np.array(numeric, dtype=np.float32),
        labels=label_array,
        source_name=path.name,
        source_sha256=hashlib.sha256(raw).hexdigest(),
    )


def _category(row: dict[str, Any], line_number: int) -> str:
    value = (row.get(TYPE_COLUMN) or "").strip()
    if value not in TYPE_CATEGORIES:
        raise TrainingDataError(
            f"line {line_number}, column {TYPE_COLUMN!r}: expected L, M or H, got {value!r}"
        )
    return value


def _number(row: dict[str, Any], column: str, line_number: int) -> float:
    text = row.get(column)
    try:
        value = float(text or "")
    except ValueError:
        raise TrainingDataError(f"line {line_number}, column {column!r}: not a number: {text!r}") from None
    if not math.isfinite(value):
        raise TrainingDataError(f"line {line_number}, column {column!r}: not finite: {text!r}")
    return value


def _label(row: dict[str, Any], line_number: int) -> int:
    text = (row.get(LABEL_COLUMN) or "").strip()
    if text not in ("0", "1"):
        raise TrainingDataError(f"line {line_number}, column {LABEL_COLUMN!r}: expected 0 or 1, got {text!r}")
    return int(text)
