"""The parts of a model manifest: features, outputs, the ONNX mapping, the file list.

Each part is a small value with ``to_dict`` and a parser that validates its
decoded JSON, naming the offending field (``inputs[2].min``) in a
:class:`ManifestError`; ``edgeloop.domain.manifest`` assembles them into the
whole :class:`~edgeloop.domain.manifest.ModelManifest`. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from edgeloop.domain.records import ON_SITE_CONTEXT_FIELDS

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "edgeloop.model-bundle"
MANIFEST_FORMAT_VERSION = 1

InputType = Literal["number", "category"]
OnnxDtype = Literal["float32", "float64", "string"]
OodDirection = Literal["above", "below"]

# On-site context fields a scoring row may carry next to the features; a feature may not take their names.
RESERVED_FIELD_NAMES = frozenset(ON_SITE_CONTEXT_FIELDS)

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # fullmatch: "$" matches before a final newline
_SHA256_RE = re.compile(r"[0-9a-f]{64}")  # fullmatch: "$" matches before a final newline


class ManifestError(ValueError):
    """An invalid manifest; ``field`` names the offending field (e.g. ``inputs[2].min``)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"manifest field {field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One feature: a number in [min, max] or a category from a fixed set."""

    name: str
    type: InputType
    unit: str = ""
    description: str = ""
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "unit": self.unit}
        if self.type == "number":
            out["min"] = self.min
            out["max"] = self.max
        else:
            out["categories"] = list(self.categories or ())
        out["description"] = self.description
        return out


@dataclass(frozen=True, slots=True)
class OutputSpec:
    name: str
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description}


@dataclass(frozen=True, slots=True)
class OnnxInputSpec:
    """One ONNX graph input: shape ``[n_rows, len(features)]`` of ``dtype``, columns in order."""

    name: str
    features: tuple[str, ...]
    dtype: OnnxDtype

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "features": list(self.features), "dtype": self.dtype}


@dataclass(frozen=True, slots=True)
class OnnxOutputSpec:
    """Where manifest output ``output`` comes from: ONNX output ``name``, optionally one ``column``."""

    output: str
    name: str
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "name": self.name, "column": self.column}


# --- parsing -------------------------------------------------------------------------------------


def require(data: Mapping[str, Any], key: str, path: str, kind: type | tuple[type, ...]) -> Any:
    if key not in data:
        raise ManifestError(path, "missing")
    return check_type(data[key], path, kind)


def check_type(value: Any, path: str, kind: type | tuple[type, ...]) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ManifestError(path, "must not be a boolean")
    if not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise ManifestError(path, f"must be of type {names}, got {type(value).__name__}")
    return value


def identifier(data: Mapping[str, Any], key: str, path: str) -> str:
    value: str = require(data, key, path, str)
    if not _NAME_RE.fullmatch(value):
        raise ManifestError(path, f"must be an identifier (letters, digits, _; max 64), got {value!r}")
    return value


def finite_number(value: Any, path: str) -> float:
    number = float(check_type(value, path, (int, float)))
    if not math.isfinite(number):
        raise ManifestError(path, "must be a finite number")
    return number


def non_empty_list(data: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
    value: list[Any] = require(data, key, path, list)
    if not value:
        raise ManifestError(path, "must not be empty")
    return value


def parse_input(item: Any, path: str) -> InputSpec:
    item = check_type(item, path, dict)
    name = identifier(item, "name", f"{path}.name")
    if name in RESERVED_FIELD_NAMES:
        raise ManifestError(f"{path}.name", f"{name!r} is reserved for on-site context")
    kind = require(item, "type", f"{path}.type", str)
    unit = check_type(item.get("unit", ""), f"{path}.unit", str)
    description = check_type(item.get("description", ""), f"{path}.description", str)
    if kind == "number":
        low = finite_number(require(item, "min", f"{path}.min", (int, float)), f"{path}.min")
        high = finite_number(require(item, "max", f"{path}.max", (int, float)), f"{path}.max")
        if not low < high:
            raise ManifestError(f"{path}.max", f"must be greater than min ({low}), got {high}")
        return InputSpec(name, "number", unit, description, min=low, max=high)
    if kind == "category":
        categories = non_empty_list(item, "categories", f"{path}.categories")
        for index, category in enumerate(categories):
            check_type(category, f"{path}.categories[{index}]", str)
        if len(set(categories)) != len(categories):
            raise ManifestError(f"{path}.categories", "must not repeat a category")
        return InputSpec(name, "category", unit, description, categories=tuple(categories))
    raise ManifestError(f"{path}.type", f"must be 'number' or 'category', got {kind!r}")


def parse_onnx_input(item: Any, path: str, inputs: Mapping[str, InputSpec]) -> OnnxInputSpec:
    item = check_type(item, path, dict)
    name = require(item, "name", f"{path}.name", str)
    features = non_empty_list(item, "features", f"{path}.features")
    dtype = require(item, "dtype", f"{path}.dtype", str)
    if dtype not in ("float32", "float64", "string"):
        raise ManifestError(f"{path}.dtype", f"must be float32, float64 or string, got {dtype!r}")
    for index, feature in enumerate(features):
        where = f"{path}.features[{index}]"
        spec = inputs.get(check_type(feature, where, str))
        if spec is None:
            raise ManifestError(where, f"{feature!r} is not one of the inputs")
        if (spec.type == "category") != (dtype == "string"):
            raise ManifestError(f"{path}.dtype", f"{dtype} cannot carry {spec.type} feature {feature!r}")
    return OnnxInputSpec(name, tuple(features), cast(OnnxDtype, dtype))


def parse_onnx_output(item: Any, path: str, outputs: set[str]) -> OnnxOutputSpec:
    item = check_type(item, path, dict)
    output = require(item, "output", f"{path}.output", str)
    if output not in outputs:
        raise ManifestError(f"{path}.output", f"{output!r} is not one of the outputs")
    name = require(item, "name", f"{path}.name", str)
    column = item.get("column")
    if column is not None and (check_type(column, f"{path}.column", int) < 0):
        raise ManifestError(f"{path}.column", "must be >= 0")
    return OnnxOutputSpec(output, name, column)


def parse_files(data: Mapping[str, Any]) -> dict[str, str]:
    files: dict[str, Any] = require(data, "files", "files", dict)
    if not files:
        raise ManifestError("files", "must not be empty")
    for file_name, digest in files.items():
        if "/" in file_name or "\\" in file_name or file_name in ("", ".", "..", MANIFEST_FILE):
            raise ManifestError(f"files.{file_name}", "must be a plain file name in the bundle")
        if not isinstance(digest, str) or not _SHA256_RE.fullmatch(digest):
            raise ManifestError(f"files.{file_name}", "must be a lowercase hex sha256")
    return dict(files)
