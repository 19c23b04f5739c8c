"""The model manifest: everything the edge needs to know about a model bundle.

A bundle is a directory with ``model.onnx`` and ``manifest.json``. The manifest
describes the features (names, types, units, valid ranges or categories), the
outputs, the anomaly rules (risk threshold, out-of-distribution threshold and
direction) and how features map onto the ONNX graph's inputs and outputs, so
validation, anomaly detection and the onnxruntime adapter need no
model-specific code. Pure: json + dataclasses only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
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

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


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


@dataclass(frozen=True, slots=True)
class ModelManifest:
    name: str
    version: str
    created_at: str
    files: Mapping[str, str]  # file name -> sha256 (hex)
    model_file: str
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    onnx_inputs: tuple[OnnxInputSpec, ...]
    onnx_outputs: tuple[OnnxOutputSpec, ...]
    risk_output: str
    threshold: float
    ood_output: str | None = None
    ood_threshold: float | None = None
    ood_direction: OodDirection = "above"  # "above": score > threshold is out of distribution
    metrics: Mapping[str, float] = field(default_factory=dict)
    training_data: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.outputs)

    def input(self, name: str) -> InputSpec:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @classmethod
    def from_dict(cls, data: Any) -> ModelManifest:
        """Validate a decoded manifest; raises :class:`ManifestError` naming the field."""
        return _parse_manifest(data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "format_version": MANIFEST_FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "created_at": self.created_at,
            "description": self.description,
            "files": dict(self.files),
            "model_file": self.model_file,
            "inputs": [spec.to_dict() for spec in self.inputs],
            "outputs": [spec.to_dict() for spec in self.outputs],
            "risk_output": self.risk_output,
            "threshold": self.threshold,
            "ood_output": self.ood_output,
            "ood_threshold": self.ood_threshold,
            "ood_direction": self.ood_direction,
            "onnx_inputs": [spec.to_dict() for spec in self.onnx_inputs],
            "onnx_outputs": [spec.to_dict() for spec in self.onnx_outputs],
            "metrics": dict(self.metrics),
            "training_data": dict(self.training_data),
        }


def load_manifest(path: Path) -> ModelManifest:
    """Read and validate ``manifest.json`` (``path`` may be the file or the bundle directory)."""
    if path.is_dir():
        path = path / MANIFEST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError("manifest", f"{path} does not exist") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError("manifest", f"{path} is not valid JSON: {exc}") from None
    return ModelManifest.from_dict(data)


# --- parsing helpers -------------------------------------------------------------------------------


def _get(data: Mapping[str, Any], key: str, path: str, kind: type | tuple[type, ...]) -> Any:
    if key not in data:
        raise ManifestError(path, "missing")
    return _check_type(data[key], path, kind)


def _check_type(value: Any, path: str, kind: type | tuple[type, ...]) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ManifestError(path, "must not be a boolean")
    if not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise ManifestError(path, f"must be of type {names}, got {type(value).__name__}")
    return value


def _name(data: Mapping[str, Any], key: str, path: str) -> str:
    value: str = _get(data, key, path, str)
    if not _NAME_RE.match(value):
        raise ManifestError(path, f"must be an identifier (letters, digits, _; max 64), got {value!r}")
    return value


def _number(value: Any, path: str) -> float:
    number = float(_check_type(value, path, (int, float)))
    if not math.isfinite(number):
        raise ManifestError(path, "must be a finite number")
    return number


def _list(data: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
    value: list[Any] = _get(data, key, path, list)
    if not value:
        raise ManifestError(path, "must not be empty")
    return value


def _parse_input(item: Any, path: str) -> InputSpec:
    item = _check_type(item, path, dict)
    name = _name(item, "name", f"{path}.name")
    if name in RESERVED_FIELD_NAMES:
        raise ManifestError(f"{path}.name", f"{name!r} is reserved for on-site context")
    kind = _get(item, "type", f"{path}.type", str)
    unit = _check_type(item.get("unit", ""), f"{path}.unit", str)
    description = _check_type(item.get("description", ""), f"{path}.description", str)
    if kind == "number":
        low = _number(_get(item, "min", f"{path}.min", (int, float)), f"{path}.min")
        high = _number(_get(item, "max", f"{path}.max", (int, float)), f"{path}.max")
        if not low < high:
            raise ManifestError(f"{path}.max", f"must be greater than min ({low}), got {high}")
        return InputSpec(name, "number", unit, description, min=low, max=high)
    if kind == "category":
        categories = _list(item, "categories", f"{path}.categories")
        for index, category in enumerate(categories):
            _check_type(category, f"{path}.categories[{index}]", str)
        if len(set(categories)) != len(categories):
            raise ManifestError(f"{path}.categories", "must not repeat a category")
        return InputSpec(name, "category", unit, description, categories=tuple(categories))
    raise ManifestError(f"{path}.type", f"must be 'number' or 'category', got {kind!r}")


def _parse_onnx_input(item: Any, path: str, inputs: Mapping[str, InputSpec]) -> OnnxInputSpec:
    item = _check_type(item, path, dict)
    name = _get(item, "name", f"{path}.name", str)
    features = _list(item, "features", f"{path}.features")
    dtype = _get(item, "dtype", f"{path}.dtype", str)
    if dtype not in ("float32", "float64", "string"):
        raise ManifestError(f"{path}.dtype", f"must be float32, float64 or string, got {dtype!r}")
    for index, feature in enumerate(features):
        where = f"{path}.features[{index}]"
        spec = inputs.get(_check_type(feature, where, str))
        if spec is None:
            raise ManifestError(where, f"{feature!r} is not one of the inputs")
        if (spec.type == "category") != (dtype == "string"):
            raise ManifestError(f"{path}.dtype", f"{dtype} cannot carry {spec.type} feature {feature!r}")
    return OnnxInputSpec(name, tuple(features), cast(OnnxDtype, dtype))


def _parse_onnx_output(item: Any, path: str, outputs: set[str]) -> OnnxOutputSpec:
    item = _check_type(item, path, dict)
    output = _get(item, "output", f"{path}.output", str)
    if output not in outputs:
        raise ManifestError(f"{path}.output", f"{output!r} is not one of the outputs")
    name = _get(item, "name", f"{path}.name", str)
    column = item.get("column")
    if column is not None and (_check_type(column, f"{path}.column", int) < 0):
        raise ManifestError(f"{path}.column", "must be >= 0")
    return OnnxOutputSpec(output, name, column)


def _parse_files(data: Mapping[str, Any]) -> dict[str, str]:
    files: dict[str, Any] = _get(data, "files", "files", dict)
    if not files:
        raise ManifestError("files", "must not be empty")
    for file_name, digest in files.items():
        if "/" in file_name or "\\" in file_name or file_name in ("", ".", "..", MANIFEST_FILE):
            raise ManifestError(f"files.{file_name}", "must be a plain file name in the bundle")
        if not isinstance(digest, str) or not _SHA256_RE.match(digest):
            raise ManifestError(f"files.{file_name}", "must be a lowercase hex sha256")
    return dict(files)


def _parse_manifest(data: Any) -> ModelManifest:
    data = _check_type(data, "manifest", dict)
    if data.get("format", MANIFEST_FORMAT) != MANIFEST_FORMAT:
        raise ManifestError("format", f"must be {MANIFEST_FORMAT!r}")
    if data.get("format_version", MANIFEST_FORMAT_VERSION) != MANIFEST_FORMAT_VERSION:
        raise ManifestError("format_version", f"unsupported, expected {MANIFEST_FORMAT_VERSION}")
    name = _get(data, "name", "name", str)
    version = _get(data, "version", "version", str)
    if not name.strip():
        raise ManifestError("name", "must not be empty")
    if not version.strip():
        raise ManifestError("version", "must not be empty")
    created_at = _get(data, "created_at", "created_at", str)
    try:
        datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        raise ManifestError("created_at", f"not an ISO 8601 timestamp: {created_at!r}") from None
    files = _parse_files(data)
    model_file = _get(data, "model_file", "model_file", str)
    if model_file not in files:
        raise ManifestError("model_file", f"{model_file!r} is not listed in files")

    raw_inputs = _list(data, "inputs", "inputs")
    inputs = tuple(_parse_input(item, f"inputs[{i}]") for i, item in enumerate(raw_inputs))
    by_name = {spec.name: spec for spec in inputs}
    if len(by_name) != len(inputs):
        raise ManifestError("inputs", "input names must be unique")
    outputs = tuple(
        OutputSpec(
            _name(_check_type(item, f"outputs[{i}]", dict), "name", f"outputs[{i}].name"),
            _check_type(item.get("description", ""), f"outputs[{i}].description", str),
        )
        for i, item in enumerate(_list(data, "outputs", "outputs"))
    )
    output_names = {spec.name for spec in outputs}
    if len(output_names) != len(outputs):
        raise ManifestError("outputs", "output names must be unique")

    onnx_inputs = tuple(
        _parse_onnx_input(item, f"onnx_inputs[{i}]", by_name)
        for i, item in enumerate(_list(data, "onnx_inputs", "onnx_inputs"))
    )
    mapped = [feature for spec in onnx_inputs for feature in spec.features]
    if sorted(mapped) != sorted(by_name):
        raise ManifestError("onnx_inputs", "must map every input feature exactly once")
    if len({spec.name for spec in onnx_inputs}) != len(onnx_inputs):
        raise ManifestError("onnx_inputs", "ONNX input names must be unique")
    onnx_outputs = tuple(
        _parse_onnx_output(item, f"onnx_outputs[{i}]", output_names)
        for i, item in enumerate(_list(data, "onnx_outputs", "onnx_outputs"))
    )
    if sorted(spec.output for spec in onnx_outputs) != sorted(output_names):
        raise ManifestError("onnx_outputs", "must map every output exactly once")

    risk_output = _get(data, "risk_output", "risk_output", str)
    if risk_output not in output_names:
        raise ManifestError("risk_output", f"{risk_output!r} is not one of the outputs")
    threshold = _number(_get(data, "threshold", "threshold", (int, float)), "threshold")
    ood_output = _check_type(data.get("ood_output"), "ood_output", (str, type(None)))
    ood_threshold: float | None = None
    ood_direction = _check_type(data.get("ood_direction", "above"), "ood_direction", str)
    if ood_direction not in ("above", "below"):
        raise ManifestError("ood_direction", f"must be 'above' or 'below', got {ood_direction!r}")
    if ood_output is not None:
        if ood_output not in output_names:
            raise ManifestError("ood_output", f"{ood_output!r} is not one of the outputs")
        if ood_output == risk_output:
            raise ManifestError("ood_output", "must differ from risk_output")
        if data.get("ood_threshold") is None:
            raise ManifestError("ood_threshold", "missing (required with ood_output)")
        ood_threshold = _number(data["ood_threshold"], "ood_threshold")

    metrics = _check_type(data.get("metrics", {}), "metrics", dict)
    for key, value in metrics.items():
        _number(value, f"metrics.{key}")
    training_data = _check_type(data.get("training_data", {}), "training_data", dict)
    description = _check_type(data.get("description", ""), "description", str)
    return ModelManifest(
        name=name,
        version=version,
        created_at=created_at,
        files=files,
        model_file=model_file,
        inputs=inputs,
        outputs=outputs,
        onnx_inputs=onnx_inputs,
        onnx_outputs=onnx_outputs,
        risk_output=risk_output,
        threshold=threshold,
        ood_output=ood_output,
        ood_threshold=ood_threshold,
        ood_direction=cast(OodDirection, ood_direction),
        metrics={key: float(value) for key, value in metrics.items()},
        training_data=training_data,
        description=description,
    )
