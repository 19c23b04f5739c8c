"""Frames to a model's tensor (edgeloop.domain.image_batches) against the plain per-image reference
(tests/support/image_reference.py): any sizes mixed in one batch, every layout, dtype, channel
count, normalisation and resize mode; and the frames it refuses, named by index."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.image_reference import reference_tensor

from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.images import IDENTITY, ImageSpec, InvalidImages, Normalisation


@st.composite
def specs(draw: st.DrawFn) -> ImageSpec:
    channels = draw(st.sampled_from([1, 3]))
    dtype = draw(st.sampled_from(["float32", "uint8"]))
    normalisation = IDENTITY
    if dtype == "float32":
        width = draw(st.sampled_from(sorted({1, channels})))
        means = tuple(draw(st.lists(st.floats(-1, 1), min_size=width, max_size=width)))
        stds = tuple(draw(st.lists(st.floats(0.1, 2), min_size=width, max_size=width)))
        normalisation = Normalisation(draw(st.sampled_from([1 / 255, 1.0, 0.5])), means, stds)
    return ImageSpec(
        width=draw(st.integers(1, 9)),
        height=draw(st.integers(1, 9)),
        channels=channels,
        layout=draw(st.sampled_from(["NCHW", "NHWC"])),
        dtype=dtype,
        normalisation=normalisation,
        resize=draw(st.sampled_from(["stretch", "center_crop"])),
    )


@st.composite
def frame_batches(draw: st.DrawFn) -> list[npt.NDArray[np.uint8]]:
    """1 to 5 frames of up to 3 sizes (some far larger than the model's: the box reduction)."""
    sizes = draw(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 30)), min_size=1, max_size=3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(draw(st.integers(1, 5))):
        h, w = sizes[draw(st.integers(0, len(sizes) - 1))]
        shape = (h, w) if draw(st.integers(0, 4)) == 0 else (h, w, 3)  # now and then a grey frame
        frames.append(rng.integers(0, 256, size=shape, dtype=np.uint8))
    return frames


@settings(max_examples=120, deadline=None)
@given(frame_batches(), specs())
def test_the_batch_is_the_reference_image_by_image(
    frames: list[npt.NDArray[np.uint8]], spec: ImageSpec
) -> None:
    tensor = prepare_batch(frames, spec)
    expected = reference_tensor(frames, spec)
    assert tensor.shape == (len(frames), *spec.tensor_shape)
    assert tensor.dtype == np.dtype(spec.dtype)
    assert tensor.flags["C_CONTIGUOUS"]
    if spec.dtype == "uint8":  # float32 blending may round a .5 the other way
        assert np.abs(tensor.astype(np.int16) - expected.astype(np.int16)).max(initial=0) <= 1
    else:
        scale = spec.normalisation.scale / min(spec.normalisation.std)
        np.testing.assert_allclose(tensor, expected, rtol=1e-4, atol=1e-3 * scale * 255 / 255)


def test_a_frame_of_the_model_s_size_is_only_normalised_and_laid_out() -> None:
    frame = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    spec = ImageSpec(width=3, height=2, normalisation=Normalisation(1.0, (1.0,), (2.0,)))
    tensor = prepare_batch([frame], spec)
    np.testing.assert_array_equal(tensor[0], (frame.transpose(2, 0, 1) - 1.0) / 2.0)


def test_frames_that_are_not_rgb_uint8_arrays_are_refused_by_index() -> None:
    good = np.zeros((4, 4, 3), dtype=np.uint8)
    frames = [
        good,
        good.astype(np.float32),
        np.zeros((4, 4, 4), dtype=np.uint8),
        np.zeros((0, 4, 3), np.uint8),
    ]
    with pytest.raises(InvalidImages) as refused:
        prepare_batch(frames, ImageSpec(width=2, height=2))
    assert [(problem.index, problem.kind) for problem in refused.value.problems] == [
        (1, "bad_frame"),
        (2, "bad_frame"),
        (3, "bad_frame"),
    ]
    assert "3 channels" in refused.value.problems[1].message
