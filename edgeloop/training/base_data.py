"""Loading a recipe's base data: a CSV or Parquet file (or a folder of them), or every CSV/Parquet
blob under ``blob://container/prefix`` (through the BlobReader port).

The recipe's :class:`~edgeloop.domain.recipes.BaseDataSpec` maps source columns to
feature names and names the label column and an optional time column; only those
columns are read. Features are typed by the model's input specs when known (numbers
float64, categories str), else by the data (numeric columns float64, the rest str).
Labels are typed per task: binary int 0/1, multiclass a class name (str), regression
a finite float. A value that does not fit raises :class:`BaseDataError` naming the
source, the column and the row. Read with pyarrow (no pandas needed).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet

from edgeloop.domain.manifest import InputSpec
from edgeloop.domain.recipes import BaseDataFormat, BaseDataSpec
from edgeloop.domain.tasks import BinaryTask, MulticlassTask, Task
from edgeloop.ports import BlobReader

BLOB_SCHEME = "blob://"
SUFFIXES: dict[BaseDataFormat, tuple[str, ...]] = {"csv": (".csv",), "parquet": (".parquet", ".pq")}


class BaseDataError(ValueError):
    """The base data cannot be used; the message names the source, column and row."""


@dataclass(frozen=True)
class BaseData:
    features: dict[str, npt.NDArray[Any]]  # feature name -> float64 numbers or str objects
    labels: npt.NDArray[Any]
    time: npt.NDArray[np.datetime64]  # NaT where the data has no time column
    source: str
    sha256: str  # of the bytes read, in source order

    @property
    def n_rows(self) -> int:
        return int(self.labels.shape[0])


def load_base_data(
    spec: BaseDataSpec,
    task: Task,
    *,
    inputs: Sequence[InputSpec] = (),
    reader: BlobReader | None = None,
    uri: str | None = None,
) -> BaseData:
    """Every source under ``uri`` (default ``spec.uri``), concatenated in name order."""
    location = uri or spec.uri
    sources = _read_sources(location, spec.format, reader)
    if not sources:
        raise BaseDataError(f"{location}: no {spec.format} data found")
    kinds = {item.name: item.type for item in inputs}
    parts = [_typed(name, _table(name, data, spec), spec, task, kinds) for name, data in sources]
    features = {
        feature: np.concatenate([part.features[feature] for part in parts])
        for feature in spec.columns.values()
    }
    labels = np.concatenate([part.labels for part in parts])
    if labels.size == 0:
        raise BaseDataError(f"{location}: no data rows")
    digest = hashlib.sha256()
    for _, data in sources:
        digest.update(data)
    source = location if len(sources) == 1 else f"{location} ({len(sources)} files)"
    return BaseData(
        features, labels, np.concatenate([part.time for part in parts]), source, digest.hexdigest()
    )


def _read_sources(
    location: str, data_format: BaseDataFormat, reader: BlobReader | None
) -> list[tuple[str, bytes]]:
    suffixes = SUFFIXES[data_format]
    if location.startswith(BLOB_SCHEME):
        if reader is None:
            raise BaseDataError(f"{location}: blob base data needs the cloud account (no blob reader)")
        container, _, prefix = location[len(BLOB_SCHEME) :].partition("/")
        names = sorted(n for n in reader.list_names(container, prefix or None) if n.endswith(suffixes))
        return [(f"{BLOB_SCHEME}{container}/{name}", reader.get(container, name)) for name in names]
    path = Path(location)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes))
    elif path.is_file():
        files = [path]
    else:
        raise BaseDataError(f"{location}: no such file or folder")
    return [(str(file), file.read_bytes()) for file in files]


def _table(name: str, data: bytes, spec: BaseDataSpec) -> pa.Table:
    wanted = [*spec.columns, spec.label, *([spec.time] if spec.time else [])]
    try:
        if spec.format == "csv":
            table = pa_csv.read_csv(io.BytesIO(data))
        else:
            table = pa_parquet.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise BaseDataError(f"{name}: not readable as {spec.format}: {exc}") from None
    missing = [column for column in wanted if column not in table.column_names]
    if missing:
        raise BaseDataError(f"{name}: missing columns {missing} (has {table.column_names})")
    return table.select(wanted)


@dataclass(frozen=True)
class _Part:
    features: dict[str, npt.NDArray[Any]]
    labels: npt.NDArray[Any]
    time: npt.NDArray[np.datetime64]


def _typed(name: str, table: pa.Table, spec: BaseDataSpec, task: Task, kinds: Mapping[str, str]) -> _Part:
    for column in table.column_names:
        nulls = table.column(column).is_null()
        if pc.any(nulls).as_py():
            row = int(pc.index(nulls, True).as_py())
            raise BaseDataError(f"{name}: column {column!r}, row {row + 1}: empty")
    features = {}
    for source, feature in spec.columns.items():
        column = table.column(source)
        kind = kinds.get(feature) or ("number" if _numeric(column.type) else "category")
        features[feature] = _numbers(name, source, column) if kind == "number" else _strings(column)
    labels = _labels(name, spec.label, table.column(spec.label), task)
    if spec.time:
        time = _times(name, spec.time, table.column(spec.time))
    else:
        time = np.full(table.num_rows, np.datetime64("NaT"), dtype="datetime64[ns]")
    return _Part(features, labels, time)


def _numeric(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _strings(column: pa.ChunkedArray) -> npt.NDArray[np.object_]:
    values = np.empty(len(column), dtype=object)
    values[:] = [str(value) for value in pc.cast(column, pa.string()).to_pylist()]
    return values


def _numbers(name: str, source: str, column: pa.ChunkedArray) -> npt.NDArray[np.float64]:
    try:
        values = np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = next(v for v in column.to_pylist() if not _parses_as_number(v))
        raise BaseDataError(f"{name}: column {source!r}: not a number: {bad!r}") from None
    finite = np.isfinite(values)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise BaseDataError(f"{name}: column {source!r}, row {row + 1}: not finite: {values[row]}")
    return values


def _parses_as_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _labels(name: str, source: str, column: pa.ChunkedArray, task: Task) -> npt.NDArray[Any]:
    if isinstance(task, BinaryTask):
        numbers = _numbers(name, source, column)
        bad = np.flatnonzero((numbers != 0) & (numbers != 1))
        if bad.size:
            row = int(bad[0])
            raise BaseDataError(
                f"{name}: column {source!r}, row {row + 1}: expected 0 or 1, got {numbers[row]}"
            )
        return numbers.astype(np.int64)
    if isinstance(task, MulticlassTask):
        labels = _strings(column)
        unknown = [i for i, value in enumerate(labels.tolist()) if value not in task.classes]
        if unknown:
            raise BaseDataError(
                f"{name}: column {source!r}, row {unknown[0] + 1}: {labels[unknown[0]]!r} is not one of "
                f"the classes {list(task.classes)}"
            )
        return labels
    return _numbers(name, source, column)


def _times(name: str, source: str, column: pa.ChunkedArray) -> npt.NDArray[np.datetime64]:
    """UTC times without a zone (naive values are taken as UTC)."""
    values = []
    for row, value in enumerate(column.to_pylist()):
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise BaseDataError(
                    f"{name}: column {source!r}, row {row + 1}: not a time: {value!r}"
                ) from None
        if not isinstance(value, datetime):
            raise BaseDataError(f"{name}: column {source!r}, row {row + 1}: not a time: {value!r}")
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        values.append(np.datetime64(value, "ns"))
    return np.array(values, dtype="datetime64[ns]")
