"""Image inputs in the manifest (edgeloop.domain.manifest_images): what is read, what is refused,
each refusal naming its field; the written manifest reads back the same."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from support.image_bundles import image_manifest_dict
from support.manifests import demo_manifest, demo_manifest_dict

from edgeloop.domain.images import IDENTITY, ImageSpec, Normalisation
from edgeloop.domain.manifest import ManifestError, ModelManifest
from edgeloop.domain.tasks import MulticlassTask


def test_an_image_input_is_read_with_its_defaults() -> None:
    manifest = ModelManifest.from_dict(image_manifest_dict())
    assert manifest.image_input == ImageSpec(width=8, height=8)
    assert manifest.image_input.normalisation == Normalisation(1 / 255, (0.0,), (1.0,))
    assert manifest.inputs[0].type == "image"
    assert isinstance(manifest.task, MulticlassTask)
    assert ModelManifest.from_dict(manifest.to_dict()) == manifest


def test_every_field_of_an_image_input_is_read() -> None:
    document = image_manifest_dict(
        width=96,
        height=64,
        channels=1,
        layout="NHWC",
        resize="center_crop",
        normalisation={"scale": 1.0, "mean": [127.5], "std": [64.0]},
    )
    image = ModelManifest.from_dict(document).image_input
    assert image == ImageSpec(
        96, 64, 1, "NHWC", "float32", Normalisation(1.0, (127.5,), (64.0,)), "center_crop"
    )
    assert image.tensor_shape == (64, 96, 1)


def test_a_uint8_image_takes_raw_pixels() -> None:
    document = image_manifest_dict(dtype="uint8")
    image = ModelManifest.from_dict(document).image_input
    assert image is not None
    assert image.normalisation == IDENTITY


def test_a_model_of_rows_has_no_image_input() -> None:
    assert demo_manifest().image_input is None


REFUSED: list[tuple[dict[str, Any], str, str]] = [
    (image_manifest_dict(width=0), "inputs[0].width", ">= 1"),
    (image_manifest_dict(height=5000), "inputs[0].height", "<= 4096"),
    (image_manifest_dict(width=8.0), "inputs[0].width", "integer"),
    (image_manifest_dict(channels=2), "inputs[0].channels", "1 or 3"),
    (image_manifest_dict(layout="CHW"), "inputs[0].layout", "NCHW"),
    (image_manifest_dict(resize="fit"), "inputs[0].resize", "stretch"),
    (image_manifest_dict(dtype="float16"), "inputs[0].dtype", "float32"),
    (image_manifest_dict(normalisation={"std": [0.0]}), "inputs[0].normalisation.std[0]", "> 0"),
    (image_manifest_dict(normalisation={"scale": -1.0}), "inputs[0].normalisation.scale", "> 0"),
    (image_manifest_dict(normalisation={"mean": [0.1, 0.2]}), "inputs[0].normalisation.mean", "1 or 3"),
    (image_manifest_dict(dtype="uint8", normalisation={}), "inputs[0].normalisation", "raw pixels"),
]


@pytest.mark.parametrize(("document", "field", "message"), REFUSED, ids=[f for _, f, _ in REFUSED])
def test_a_bad_image_field_is_refused_naming_it(document: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ManifestError) as refused:
        ModelManifest.from_dict(document)
    assert refused.value.field == field
    assert message in refused.value.message


def test_an_image_is_a_model_s_only_input() -> None:
    document = image_manifest_dict()
    document["inputs"].append({"name": "speed", "type": "number", "min": 0.0, "max": 1.0})
    document["onnx_inputs"].append({"name": "speed", "features": ["speed"], "dtype": "float32"})
    with pytest.raises(ManifestError, match="exactly one input") as refused:
        ModelManifest.from_dict(document)
    assert refused.value.field == "inputs"


def test_the_image_s_onnx_input_has_its_dtype_and_only_a_picture_is_uint8() -> None:
    document = image_manifest_dict()
    document["onnx_inputs"][0]["dtype"] = "uint8"
    with pytest.raises(ManifestError, match="image's dtype") as refused:
        ModelManifest.from_dict(document)
    assert refused.value.field == "onnx_inputs[0].dtype"
    rows = copy.deepcopy(demo_manifest_dict())
    rows["onnx_inputs"][1]["dtype"] = "uint8"
    with pytest.raises(ManifestError, match="uint8 cannot carry") as refused:
        ModelManifest.from_dict(rows)
    assert refused.value.field == "onnx_inputs[1].dtype"
