"""The model manifest: everything the edge needs to know about a model bundle.

A bundle is a directory with ``model.onnx`` and ``manifest.json``. The manifest
describes the features (names, types, units, valid ranges or categories), the
outputs, the task (binary, multiclass or regression: edgeloop.domain.tasks, with
its anomaly rules and labels), the out-of-distribution rule, how the model is
judged (edgeloop.domain.metrics), how it is retrained (edgeloop.domain.recipes)
and how features map onto the ONNX graph's inputs and outputs, so validation,
anomaly detection and the onnxruntime adapter need no model-specific code.
Format 2 writes the task as an object; format 1 bundles (a binary rule at the
top level) are still read. The document's structure is described once, in
edgeloop.domain.manifest_document (also the source of docs/manifest.schema.json);
this module checks what spans fields and builds the values. Pure: json, dataclasses, pydantic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The parts, re-exported (``X as X``): importers take the manifest's names from this module.
from edgeloop.domain.drift import DriftProfile
from edgeloop.domain.drift_profile import parse_drift_profile
from edgeloop.domain.images import ImageSpec
from edgeloop.domain.manifest_document import (
    ImageInputDocument,
    InputDocument,
    ManifestDocument,
    ManifestV2Document,
    NumberInputDocument,
    OnnxInputDocument,
    OutputDocument,
)
from edgeloop.domain.manifest_images import check_image_inputs, check_image_mapping, image_input
from edgeloop.domain.manifest_ood import parse_ood_rule
from edgeloop.domain.manifest_specs import MANIFEST_FILE as MANIFEST_FILE
from edgeloop.domain.manifest_specs import MANIFEST_FORMAT as MANIFEST_FORMAT
from edgeloop.domain.manifest_specs import MANIFEST_FORMAT_VERSION as MANIFEST_FORMAT_VERSION
from edgeloop.domain.manifest_specs import READABLE_FORMAT_VERSIONS as READABLE_FORMAT_VERSIONS
from edgeloop.domain.manifest_specs import InputSpec as InputSpec
from edgeloop.domain.manifest_specs import ManifestError as ManifestError
from edgeloop.domain.manifest_specs import OnnxInputSpec as OnnxInputSpec
from edgeloop.domain.manifest_specs import OnnxOutputSpec as OnnxOutputSpec
from edgeloop.domain.manifest_specs import OodDirection as OodDirection
from edgeloop.domain.manifest_specs import OutputSpec as OutputSpec
from edgeloop.domain.manifest_validation import structural_problems, validate_document
from edgeloop.domain.metrics import EvaluationSpec, parse_evaluation
from edgeloop.domain.recipes import RecipeSpec, parse_recipe
from edgeloop.domain.tasks import BinaryTask, Task, parse_task, parse_v1_task


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
    task: Task
    evaluation: EvaluationSpec
    ood_output: str | None = None
    ood_threshold: float | None = None
    ood_direction: OodDirection = "above"  # "above": score > threshold is out of distribution
    metrics: Mapping[str, float] = field(default_factory=dict)
    training_data: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    recipe: RecipeSpec | None = None
    drift: DriftProfile | None = None  # None: drift is unavailable for this model

    @property
    def binary_task(self) -> BinaryTask:
        """The task, for code that handles binary models only; ValueError for another task."""
        if not isinstance(self.task, BinaryTask):
            raise ValueError(f"model {self.name} is a {self.task.kind} model, not binary")
        return self.task

    @property
    def risk_output(self) -> str:
        return self.binary_task.risk_output

    @property
    def threshold(self) -> float:
        return self.binary_task.threshold

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.outputs)

    @property
    def image_input(self) -> ImageSpec | None:
        """An image model's input (its only one), None for a model of rows."""
        return self.inputs[0].image

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
            "task": self.task.to_dict(),
            "evaluation": self.evaluation.to_dict(),
            "ood_output": self.ood_output,
            "ood_threshold": self.ood_threshold,
            "ood_direction": self.ood_direction,
            "onnx_inputs": [spec.to_dict() for spec in self.onnx_inputs],
            "onnx_outputs": [spec.to_dict() for spec in self.onnx_outputs],
            "metrics": dict(self.metrics),
            "training_data": dict(self.training_data),
            "recipe": None if self.recipe is None else self.recipe.to_dict(),
            "drift": None if self.drift is None else self.drift.to_dict(),
        }


def load_manifest(path: Path) -> ModelManifest:
    """Read and validate ``manifest.json`` (``path`` may be the file or the bundle directory)."""
    return ModelManifest.from_dict(_read_document(path))


def manifest_file_problems(path: Path) -> list[ManifestError]:
    """What is wrong with ``manifest.json`` (the file or its bundle directory): see
    :func:`manifest_problems`; [] if it is a valid manifest."""
    try:
        document = _read_document(path)
    except ManifestError as exc:
        return [exc]
    return manifest_problems(document)


def _read_document(path: Path) -> Any:
    if path.is_dir():
        path = path / MANIFEST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError("manifest", f"{path} does not exist") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError("manifest", f"{path} is not valid JSON: {exc}") from None


def manifest_problems(data: Any) -> list[ManifestError]:
    """What is wrong with a decoded manifest, each naming its field: every structural fault
    the document model finds, or else the first rule across fields it breaks; [] if valid."""
    problems = structural_problems(data)
    if problems:
        return problems
    try:
        _parse_manifest(data)
    except ManifestError as exc:
        return [exc]
    return []


def _parse_manifest(data: Any) -> ModelManifest:
    """The document model's pass first (edgeloop.domain.manifest_document), then the rules
    across fields (its PARSER_RULES), part by part in document order."""
    document = validate_document(data)
    files = dict(document.files)
    if document.model_file not in files:
        raise ManifestError("model_file", f"{document.model_file!r} is not listed in files")
    inputs = _parse_inputs(document.inputs)
    outputs = _parse_outputs(document.outputs)
    onnx_inputs, onnx_outputs = _parse_onnx_mapping(document, inputs, outputs)
    output_names = tuple(spec.name for spec in outputs)
    if isinstance(document, ManifestV2Document):
        task = parse_task(document.task, output_names)
        if task.kind == "detection" and inputs[0].image is None:
            raise ManifestError(
                "task.kind", "a detection model takes an image: inputs[0] must be of type image"
            )
    else:
        task = parse_v1_task(document.risk_output, document.threshold, output_names)
    ood = parse_ood_rule(document, output_names, task)
    return ModelManifest(
        name=document.name,
        version=document.version,
        created_at=document.created_at,
        files=files,
        model_file=document.model_file,
        inputs=inputs,
        outputs=outputs,
        onnx_inputs=onnx_inputs,
        onnx_outputs=onnx_outputs,
        task=task,
        evaluation=parse_evaluation(document.evaluation, task.kind),
        ood_output=ood.output,
        ood_threshold=ood.threshold,
        ood_direction=ood.direction,
        metrics=dict(document.metrics),
        training_data=dict(document.training_data),
        description=document.description,
        recipe=parse_recipe(document.recipe),
        drift=parse_drift_profile(document.drift, inputs),
    )


def _parse_inputs(documents: Sequence[InputDocument]) -> tuple[InputSpec, ...]:
    inputs: list[InputSpec] = []
    for index, item in enumerate(documents):
        if isinstance(item, ImageInputDocument):
            inputs.append(image_input(item, index))
        elif isinstance(item, NumberInputDocument):
            if not item.min < item.max:
                raise ManifestError(
                    f"inputs[{index}].max", f"must be greater than min ({item.min}), got {item.max}"
                )
            inputs.append(InputSpec(item.name, "number", item.unit, item.description, item.min, item.max))
        elif len(set(item.categories)) != len(item.categories):
            raise ManifestError(f"inputs[{index}].categories", "must not repeat a category")
        else:
            names = tuple(item.categories)
            inputs.append(InputSpec(item.name, "category", item.unit, item.description, categories=names))
    check_image_inputs(inputs)
    if len({spec.name for spec in inputs}) != len(inputs):
        raise ManifestError("inputs", "input names must be unique")
    return tuple(inputs)


def _parse_outputs(documents: Sequence[OutputDocument]) -> tuple[OutputSpec, ...]:
    outputs = tuple(OutputSpec(item.name, item.description) for item in documents)
    if len({spec.name for spec in outputs}) != len(outputs):
        raise ManifestError("outputs", "output names must be unique")
    return outputs


def _parse_onnx_mapping(
    document: ManifestDocument, inputs: tuple[InputSpec, ...], outputs: tuple[OutputSpec, ...]
) -> tuple[tuple[OnnxInputSpec, ...], tuple[OnnxOutputSpec, ...]]:
    """How the features and outputs map onto the graph: each exactly once."""
    by_name = {spec.name: spec for spec in inputs}
    onnx_inputs = tuple(
        _parse_onnx_input(item, f"onnx_inputs[{i}]", by_name) for i, item in enumerate(document.onnx_inputs)
    )
    mapped = [feature for spec in onnx_inputs for feature in spec.features]
    if sorted(mapped) != sorted(by_name):
        raise ManifestError("onnx_inputs", "must map every input feature exactly once")
    if len({spec.name for spec in onnx_inputs}) != len(onnx_inputs):
        raise ManifestError("onnx_inputs", "ONNX input names must be unique")
    output_names = {spec.name for spec in outputs}
    onnx_outputs: list[OnnxOutputSpec] = []
    for index, item in enumerate(document.onnx_outputs):
        if item.output not in output_names:
            raise ManifestError(f"onnx_outputs[{index}].output", f"{item.output!r} is not one of the outputs")
        onnx_outputs.append(OnnxOutputSpec(item.output, item.name, item.column))
    if sorted(spec.output for spec in onnx_outputs) != sorted(output_names):
        raise ManifestError("onnx_outputs", "must map every output exactly once")
    return onnx_inputs, tuple(onnx_outputs)


def _parse_onnx_input(item: OnnxInputDocument, path: str, inputs: Mapping[str, InputSpec]) -> OnnxInputSpec:
    for index, feature in enumerate(item.features):
        spec = inputs.get(feature)
        if spec is None:
            raise ManifestError(f"{path}.features[{index}]", f"{feature!r} is not one of the inputs")
        if (spec.type == "category") != (item.dtype == "string"):
            raise ManifestError(f"{path}.dtype", f"{item.dtype} cannot carry {spec.type} feature {feature!r}")
        check_image_mapping(path, item.features, item.dtype, spec)
    return OnnxInputSpec(item.name, tuple(item.features), item.dtype)
