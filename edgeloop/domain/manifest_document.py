"""The manifest document's structure, as pydantic models: the one description of it.

From these models come the parser's first pass (edgeloop.domain.manifest_validation)
and the published JSON Schema (docs/manifest.schema.json, by
``python -m tools.manifest_schema``). Format 1 (the binary rule at the top level) and
format 2 (a ``task`` object) share every other field; ``format_version`` tells
them apart (absent: 1). Unknown keys are ignored. What spans several fields is
checked by the parser after this pass (:data:`PARSER_RULES`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, TypeAdapter
from pydantic_core import PydanticCustomError

from edgeloop.domain.document_types import (
    DocumentModel,
    FeatureName,
    FileName,
    Identifier,
    NonBlank,
    Sha256,
)
from edgeloop.domain.drift_documents import DriftProfileDocument
from edgeloop.domain.manifest_specs import MANIFEST_FORMAT, MAX_IMAGE_SIDE, OnnxDtype, OodDirection
from edgeloop.domain.task_documents import EvaluationDocument, RecipeDocument, TaskDocument


def _iso_timestamp(value: str) -> str:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        message = "not an ISO 8601 timestamp: '{value}'"
        raise PydanticCustomError("iso_timestamp", message, {"value": value}) from None
    return value


class NumberInputDocument(DocumentModel):
    """A numeric feature with its valid range (min < max)."""

    name: FeatureName
    type: Literal["number"]
    unit: str = ""
    min: float
    max: float
    description: str = ""


class CategoryInputDocument(DocumentModel):
    """A categorical feature with its categories (unique)."""

    name: FeatureName
    type: Literal["category"]
    unit: str = ""
    categories: list[str] = Field(min_length=1)
    description: str = ""


Positive = Annotated[float, Field(gt=0)]


class NormalisationDocument(DocumentModel):
    """``(pixel * scale - mean[c]) / std[c]`` per channel ``c``; mean and std: one value, or one a channel."""

    scale: float = Field(default=1.0 / 255.0, gt=0)
    mean: list[float] = Field(default_factory=lambda: [0.0], min_length=1, max_length=3)
    std: list[Positive] = Field(default_factory=lambda: [1.0], min_length=1, max_length=3)


class ImageInputDocument(DocumentModel):
    """An image (a model's only input): the tensor the graph takes and how frames become it."""

    name: FeatureName
    type: Literal["image"]
    width: int = Field(ge=1, le=MAX_IMAGE_SIDE)
    height: int = Field(ge=1, le=MAX_IMAGE_SIDE)
    channels: Literal[1, 3] = 3
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    dtype: Literal["float32", "uint8"] = Field(default="float32", description="What the graph takes")
    normalisation: NormalisationDocument | None = Field(
        default=None, description="float32 only (absent: scale 1/255, mean 0, std 1); uint8 takes raw pixels"
    )
    resize: Literal["stretch", "center_crop"] = "stretch"
    description: str = ""


InputDocument = Annotated[
    NumberInputDocument | CategoryInputDocument | ImageInputDocument, Field(discriminator="type")
]


class OutputDocument(DocumentModel):
    name: Identifier
    description: str = ""


class OnnxInputDocument(DocumentModel):
    """One graph input, ``[n_rows, len(features)]`` of ``dtype`` (string for categories); an image's
    is its tensor (``[n, C, H, W]`` or ``[n, H, W, C]``, the image its only feature)."""

    name: str
    features: list[str] = Field(min_length=1, description="Input features, in column order")
    dtype: OnnxDtype


class OnnxOutputDocument(DocumentModel):
    """Where an output comes from: a graph output, optionally one column of it."""

    output: str = Field(description="One of outputs")
    name: str = Field(description="The graph output's name")
    column: int | None = Field(default=None, ge=0)


class ManifestDocumentBase(DocumentModel):
    """The fields both formats share, in the order the writer puts them."""

    format: Literal["edgeloop.model-bundle"] = MANIFEST_FORMAT
    name: NonBlank = Field(description="The model's name (its line in the registry)")
    version: NonBlank
    created_at: Annotated[str, AfterValidator(_iso_timestamp)] = Field(description="ISO 8601")
    description: str = ""
    files: dict[FileName, Sha256] = Field(min_length=1, description="File name -> sha256 (hex)")
    model_file: str = Field(description="The ONNX file (one of files)")
    inputs: list[InputDocument] = Field(min_length=1)
    outputs: list[OutputDocument] = Field(min_length=1)
    evaluation: EvaluationDocument = EvaluationDocument()  # frozen: shared safely
    ood_output: str | None = Field(default=None, description="The out-of-distribution score, if any")
    ood_threshold: float | None = Field(default=None, description="Required with ood_output")
    ood_direction: OodDirection = "above"
    onnx_inputs: list[OnnxInputDocument] = Field(min_length=1)
    onnx_outputs: list[OnnxOutputDocument] = Field(min_length=1)
    metrics: dict[str, float] = Field(default_factory=dict)
    training_data: dict[str, Any] = Field(default_factory=dict)
    recipe: RecipeDocument | None = Field(
        default=None, description="How the model is retrained (null: not here)"
    )
    drift: DriftProfileDocument | None = Field(
        default=None, description="The training profile drift is measured against (null: drift unavailable)"
    )


class ManifestV1Document(ManifestDocumentBase):
    """Format 1: a binary model, its rule at the top level."""

    format_version: Literal[1] = 1
    risk_output: str = Field(description="One of outputs")
    threshold: float


class ManifestV2Document(ManifestDocumentBase):
    """Format 2: the task as an object (binary, multiclass or regression)."""

    format_version: Literal[2]
    task: TaskDocument


ManifestDocument = ManifestV1Document | ManifestV2Document


def _format_tag(data: Any) -> str | None:
    """The format a document claims (None: unsupported); a non-object is judged as format 1."""
    if not isinstance(data, dict):
        return "1"
    version = data.get("format_version", 1)
    return str(version) if type(version) is int and version in (1, 2) else None


MANIFEST_DOCUMENT: TypeAdapter[ManifestDocument] = TypeAdapter(
    Annotated[
        Annotated[ManifestV1Document, Tag("1")] | Annotated[ManifestV2Document, Tag("2")],
        Discriminator(_format_tag),
    ]
)

# What the JSON Schema cannot say: the parser checks it (the schema's description lists it).
PARSER_RULES: tuple[str, ...] = (
    "numbers are finite (JSON has no NaN or Infinity, but some writers emit them)",
    "an integer is written without a fraction (JSON Schema takes 1.0 for 1)",
    "created_at is an ISO 8601 timestamp",
    "model_file is one of files",
    "input names are unique; output names are unique",
    "a number input's min is below its max; a category input repeats no category",
    "onnx_inputs name input features only, map every feature exactly once, with distinct names",
    "an onnx_inputs dtype fits its features: string for categories, float32 or float64 for numbers",
    "onnx_outputs name outputs only and map every output exactly once",
    "the outputs the task names (risk_output, probability_outputs, value_output, ...) are outputs",
    "multiclass: class names are unique, one probability output per class, alert_classes are classes",
    "regression: lower_output and upper_output come together, all three outputs differ; band low < high",
    "binary label_names are two different names",
    "ood_output is an output but not one of the task's; ood_threshold is required with it",
    "evaluation.primary_metric is a metric of the task's kind",
    "an image input is the model's only input; its onnx_inputs entry maps it alone, with its dtype",
    "an image's normalisation mean and std have one value or one per channel; uint8 images have none",
    "drift profiles name inputs of their type once; bins and shares agree, shares add up to 1, watch < drift",
    "detection: the model takes an image; boxes, classes and scores outputs differ; class names are unique,"
    " alert_classes are classes; min_confidence is not below score_threshold",
)
