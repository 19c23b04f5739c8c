"""Golden samples of image models: frames in ``golden.json``, checked as a site scores frames.

The model is the tests' tiny image graph (real onnxruntime): it calls a frame ``dark`` by its
mean, so a sample recorded on it must pass, and one whose expected outputs moved must not.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from support.image_bundles import tiny_image_bundle

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.domain.bundle_integrity import GoldenSample, IntegrityError
from edgeloop.domain.golden_images import golden_frames, golden_image_row
from edgeloop.service_layer.golden_check import check_golden
from edgeloop.service_layer.model_publishing import golden_sample
from edgeloop.service_layer.signed_bundles import BundleRejected

RNG = np.random.default_rng(5)
FRAMES = [RNG.integers(0, 256, size=(8 + i, 8, 3), dtype=np.uint8) for i in range(3)]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> OnnxModel:
    return OnnxModel.load(tiny_image_bundle(tmp_path_factory.mktemp("tiny") / "bundle"))


def test_a_golden_frame_goes_through_json_pixel_for_pixel() -> None:
    rows = json.loads(json.dumps([golden_image_row("image", frame) for frame in FRAMES]))
    for frame, back in zip(FRAMES, golden_frames("image", rows), strict=True):
        assert back.dtype == np.uint8
        assert np.array_equal(back, frame)


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("not an object", "rows[0].image: must be an object"),
        ({"width": 0, "height": 8, "pixels": ""}, "width and height"),
        ({"width": 8, "height": True, "pixels": ""}, "width and height"),
        ({"width": 8, "height": 8, "pixels": "%%%"}, "rows[0].image.pixels: is not base64"),
        ({"width": 8, "height": 8, "pixels": "AAAA"}, "rows[0].image.pixels: 3 bytes for 8 x 8 x 3"),
    ],
)
def test_a_malformed_golden_frame_is_refused_naming_the_field(value: object, names: str) -> None:
    with pytest.raises(IntegrityError, match=re.escape(names)):
        golden_frames("image", [{"image": value}])


def test_only_rgb_uint8_frames_become_golden_rows() -> None:
    with pytest.raises(IntegrityError, match="H x W x 3 uint8"):
        golden_image_row("image", np.zeros((8, 8), dtype=np.uint8))


def test_an_image_models_golden_sample_passes_its_check_and_a_moved_one_does_not(model: OnnxModel) -> None:
    sample = golden_sample(model, [golden_image_row("image", frame) for frame in FRAMES])
    assert set(sample.expected) == {"p_bright", "p_dark"}
    check_golden(model, GoldenSample.from_dict(json.loads(json.dumps(sample.to_dict()))))

    moved = GoldenSample(sample.rows, {k: tuple(v + 0.01 for v in vs) for k, vs in sample.expected.items()})
    with pytest.raises(BundleRejected, match="golden check failed"):
        check_golden(model, moved)
    broken = GoldenSample(({"image": {"width": 8, "height": 8, "pixels": "AAAA"}},), sample.expected)
    with pytest.raises(BundleRejected, match="golden rows do not fit the manifest"):
        check_golden(model, broken)


def test_tabular_rows_for_an_image_model_are_refused(model: OnnxModel) -> None:
    sample = GoldenSample(({"image": 0.5},), {"p_bright": (0.5,), "p_dark": (0.5,)})
    with pytest.raises(BundleRejected, match=re.escape("rows[0].image: must be an object")):
        check_golden(model, sample)
