"""The parts of a model manifest: features, outputs, the ONNX mapping; the manifest's error.

Each part is a small value with ``to_dict``. Its document's structure is
described once in edgeloop.domain.manifest_document; ``edgeloop.domain.manifest``
checks what spans several fields and assembles the whole
:class:`~edgeloop.domain.manifest.ModelManifest`. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from edgeloop.domain.images import ImageSpec
from edgeloop.domain.records import ON_SITE_CONTEXT_FIELDS

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT: Final = "edgeloop.model-bundle"
MANIFEST_FORMAT_VERSION = 2  # what this code writes
READABLE_FORMAT_VERSIONS = (1, 2)  # 1: the binary rule at the top level, no task object

InputType = Literal["number", "category", "image"]
OnnxDtype = Literal["float32", "float64", "string", "uint8"]  # uint8: an image's only
MAX_IMAGE_SIDE = 4096  # pixels, an image input's width or height
OodDirection = Literal["above", "below"]

# On-site context fields a scoring row may carry next to the features; a feature may not take their names.
RESERVED_FIELD_NAMES = frozenset(ON_SITE_CONTEXT_FIELDS)


class ManifestError(ValueError):
    """An invalid manifest; ``field`` names the offending field (e.g. ``inputs[2].min``)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"manifest field {field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One feature: a number in [min, max], a category from a fixed set, or an image (``image``)."""

    name: str
    type: InputType
    unit: str = ""
    description: str = ""
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] | None = None
    image: ImageSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.image is not None:
            image = self.image.to_dict()
            return {"name": self.name, "type": self.type, **image, "description": self.description}
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
