"""The manifest's image input: its rules across fields, and its value (edgeloop.domain.images.ImageSpec).

An image model takes one image and nothing else: the tensor the graph's one input
takes, described by the manifest (size, channels, layout, dtype, normalisation,
resize mode). Its structure is ``ImageInputDocument`` (edgeloop.domain.manifest_document);
this module checks what spans its fields and the ONNX mapping. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from edgeloop.domain.images import IDENTITY, ImageSpec, Normalisation
from edgeloop.domain.manifest_document import ImageInputDocument
from edgeloop.domain.manifest_specs import InputSpec, ManifestError


def image_input(item: ImageInputDocument, index: int) -> InputSpec:
    """The image input at ``inputs[index]`` (structure already checked)."""
    path = f"inputs[{index}]"
    norm = item.normalisation
    if item.dtype == "uint8":
        if norm is not None:
            raise ManifestError(f"{path}.normalisation", "a uint8 image takes raw pixels: leave it out")
        normalisation = IDENTITY
    elif norm is None:
        normalisation = Normalisation()
    else:
        for key, values in (("mean", norm.mean), ("std", norm.std)):
            if len(values) not in (1, item.channels):
                raise ManifestError(
                    f"{path}.normalisation.{key}", f"must have 1 or {item.channels} values, got {len(values)}"
                )
        normalisation = Normalisation(norm.scale, tuple(norm.mean), tuple(norm.std))
    spec = ImageSpec(
        item.width, item.height, item.channels, item.layout, item.dtype, normalisation, item.resize
    )
    return InputSpec(item.name, "image", description=item.description, image=spec)


def check_image_inputs(inputs: Sequence[InputSpec]) -> None:
    """An image is a model's only input (frames carry no rows of numbers beside them)."""
    if len(inputs) > 1 and any(spec.image is not None for spec in inputs):
        raise ManifestError("inputs", "an image model has exactly one input, the image")


def check_image_mapping(path: str, features: Sequence[str], dtype: str, spec: InputSpec) -> None:
    """An image's ONNX input maps it alone, with the image's dtype; only an image is uint8."""
    if spec.image is None:
        if dtype == "uint8":
            raise ManifestError(f"{path}.dtype", f"uint8 cannot carry {spec.type} feature {spec.name!r}")
        return
    if len(features) != 1:
        raise ManifestError(f"{path}.features", f"image {spec.name!r} must be this input's only feature")
    if dtype != spec.image.dtype:
        raise ManifestError(f"{path}.dtype", f"must be the image's dtype ({spec.image.dtype}), got {dtype}")
