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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

# The parts, re-exported (``X as X``): importers take the manifest's names from this module.
from edgeloop.domain.manifest_specs import MANIFEST_FILE as MANIFEST_FILE
from edgeloop.domain.manifest_specs import MANIFEST_FORMAT as MANIFEST_FORMAT
from edgeloop.domain.manifest_specs import MANIFEST_FORMAT_VERSION as MANIFEST_FORMAT_VERSION
from edgeloop.domain.manifest_specs import InputSpec as InputSpec
from edgeloop.domain.manifest_specs import ManifestError as ManifestError
from edgeloop.domain.manifest_specs import OnnxInputSpec as OnnxInputSpec
from edgeloop.domain.manifest_specs import OnnxOutputSpec as OnnxOutputSpec
from edgeloop.domain.manifest_specs import OodDirection as OodDirection
from edgeloop.domain.manifest_specs import OutputSpec as OutputSpec
from edgeloop.domain.manifest_specs import (
    check_type,
    finite_number,
    identifier,
    non_empty_list,
    parse_files,
    parse_input,
    parse_onnx_input,
    parse_onnx_output,
    require,
)


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


def _parse_manifest(data: Any) -> ModelManifest:
    """Each part in document order, so a manifest with several faults names the first one."""
    data = check_type(data, "manifest", dict)
    _check_format(data)
    name, version, created_at = _parse_identity(data)
    files = parse_files(data)
    model_file = require(data, "model_file", "model_file", str)
    if model_file not in files:
        raise ManifestError("model_file", f"{model_file!r} is not listed in files")
    inputs = _parse_inputs(data)
    outputs = _parse_outputs(data)
    onnx_inputs, onnx_outputs = _parse_onnx_mapping(data, inputs, outputs)
    rules = _parse_anomaly_rules(data, {spec.name for spec in outputs})
    metrics = check_type(data.get("metrics", {}), "metrics", dict)
    for key, value in metrics.items():
        finite_number(value, f"metrics.{key}")
    training_data = check_type(data.get("training_data", {}), "training_data", dict)
    description = check_type(data.get("description", ""), "description", str)
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
        risk_output=rules.risk_output,
        threshold=rules.threshold,
        ood_output=rules.ood_output,
        ood_threshold=rules.ood_threshold,
        ood_direction=rules.ood_direction,
        metrics={key: float(value) for key, value in metrics.items()},
        training_data=training_data,
        description=description,
    )


def _check_format(data: Mapping[str, Any]) -> None:
    if data.get("format", MANIFEST_FORMAT) != MANIFEST_FORMAT:
        raise ManifestError("format", f"must be {MANIFEST_FORMAT!r}")
    if data.get("format_version", MANIFEST_FORMAT_VERSION) != MANIFEST_FORMAT_VERSION:
        raise ManifestError("format_version", f"unsupported, expected {MANIFEST_FORMAT_VERSION}")


def _parse_identity(data: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(name, version, created_at)``."""
    name = require(data, "name", "name", str)
    version = require(data, "version", "version", str)
    if not name.strip():
        raise ManifestError("name", "must not be empty")
    if not version.strip():
        raise ManifestError("version", "must not be empty")
    created_at = require(data, "created_at", "created_at", str)
    try:
        datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        raise ManifestError("created_at", f"not an ISO 8601 timestamp: {created_at!r}") from None
    return name, version, created_at


def _parse_inputs(data: Mapping[str, Any]) -> tuple[InputSpec, ...]:
    raw_inputs = non_empty_list(data, "inputs", "inputs")
    inputs = tuple(parse_input(item, f"inputs[{i}]") for i, item in enumerate(raw_inputs))
    if len({spec.name for spec in inputs}) != len(inputs):
        raise ManifestError("inputs", "input names must be unique")
    return inputs


def _parse_outputs(data: Mapping[str, Any]) -> tuple[OutputSpec, ...]:
    outputs = tuple(
        OutputSpec(
            identifier(check_type(item, f"outputs[{i}]", dict), "name", f"outputs[{i}].name"),
            check_type(item.get("description", ""), f"outputs[{i}].description", str),
        )
        for i, item in enumerate(non_empty_list(data, "outputs", "outputs"))
    )
    if len({spec.name for spec in outputs}) != len(outputs):
        raise ManifestError("outputs", "output names must be unique")
    return outputs


def _parse_onnx_mapping(
    data: Mapping[str, Any], inputs: tuple[InputSpec, ...], outputs: tuple[OutputSpec, ...]
) -> tuple[tuple[OnnxInputSpec, ...], tuple[OnnxOutputSpec, ...]]:
    """How the features and outputs map onto the graph: each exactly once."""
    by_name = {spec.name: spec for spec in inputs}
    output_names = {spec.name for spec in outputs}
    onnx_inputs = tuple(
        parse_onnx_input(item, f"onnx_inputs[{i}]", by_name)
        for i, item in enumerate(non_empty_list(data, "onnx_inputs", "onnx_inputs"))
    )
    mapped = [feature for spec in onnx_inputs for feature in spec.features]
    if sorted(mapped) != sorted(by_name):
        raise ManifestError("onnx_inputs", "must map every input feature exactly once")
    if len({spec.name for spec in onnx_inputs}) != len(onnx_inputs):
        raise ManifestError("onnx_inputs", "ONNX input names must be unique")
    onnx_outputs = tuple(
        parse_onnx_output(item, f"onnx_outputs[{i}]", output_names)
        for i, item in enumerate(non_empty_list(data, "onnx_outputs", "onnx_outputs"))
    )
    if sorted(spec.output for spec in onnx_outputs) != sorted(output_names):
        raise ManifestError("onnx_outputs", "must map every output exactly once")
    return onnx_inputs, onnx_outputs


@dataclass(frozen=True, slots=True)
class _AnomalyRules:
    risk_output: str
    threshold: float
    ood_output: str | None
    ood_threshold: float | None
    ood_direction: OodDirection


def _parse_anomaly_rules(data: Mapping[str, Any], output_names: set[str]) -> _AnomalyRules:
    risk_output = require(data, "risk_output", "risk_output", str)
    if risk_output not in output_names:
        raise ManifestError("risk_output", f"{risk_output!r} is not one of the outputs")
    threshold = finite_number(require(data, "threshold", "threshold", (int, float)), "threshold")
    ood_output = check_type(data.get("ood_output"), "ood_output", (str, type(None)))
    ood_direction = check_type(data.get("ood_direction", "above"), "ood_direction", str)
    if ood_direction not in ("above", "below"):
        raise ManifestError("ood_direction", f"must be 'above' or 'below', got {ood_direction!r}")
    ood_threshold: float | None = None
    if ood_output is not None:
        if ood_output not in output_names:
            raise ManifestError("ood_output", f"{ood_output!r} is not one of the outputs")
        if ood_output == risk_output:
            raise ManifestError("ood_output", "must differ from risk_output")
        if data.get("ood_threshold") is None:
            raise ManifestError("ood_threshold", "missing (required with ood_output)")
        ood_threshold = finite_number(data["ood_threshold"], "ood_threshold")
    return _AnomalyRules(risk_output, threshold, ood_output, ood_threshold, cast(OodDirection, ood_direction))
