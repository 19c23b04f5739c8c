"""The Pillow decoder (edgeloop.adapters.pillow_decoder): JPEG and PNG to RGB frames, and every
kind of bad file refused, saying why, before its pixels are decoded where that is possible."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from support.image_files import encoded, gif, png_bomb

from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.domain.images import ImageBounds, ImageRefused, UploadedImage

BOUNDS = ImageBounds(max_images=4, max_bytes=200_000, max_pixels=100_000)
RNG = np.random.default_rng(3)
FRAME = RNG.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)


def decode(data: bytes, bounds: ImageBounds = BOUNDS) -> np.ndarray:
    return PillowDecoder().decode(UploadedImage("x", None, data), bounds)


def refusal(data: bytes, bounds: ImageBounds = BOUNDS) -> ImageRefused:
    with pytest.raises(ImageRefused) as refused:
        decode(data, bounds)
    return refused.value


def test_a_png_decodes_to_its_exact_rgb_pixels() -> None:
    frame = decode(encoded(FRAME))
    assert frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, FRAME)


def test_a_jpeg_decodes_to_rgb_of_its_size() -> None:
    smooth = np.zeros((20, 30, 3), dtype=np.uint8)
    smooth[:, :, 0] = np.linspace(0, 255, 30, dtype=np.uint8)
    smooth[:, :, 2] = 90
    frame = decode(encoded(smooth, "JPEG", quality=95))
    assert frame.shape == (20, 30, 3)
    assert np.abs(frame.astype(int) - smooth.astype(int)).mean() < 3  # lossy, yet the same picture


def test_grey_and_rgba_images_come_out_rgb() -> None:
    grey = decode(encoded(FRAME[:, :, 0]))
    assert grey.shape == (20, 30, 3)
    np.testing.assert_array_equal(grey[:, :, 1], FRAME[:, :, 0])
    rgba = np.dstack([FRAME, np.full((20, 30), 255, np.uint8)])
    np.testing.assert_array_equal(decode(encoded(rgba)), FRAME)


def test_a_phone_s_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    frame = decode(encoded(FRAME, "JPEG", exif=exif.tobytes(), quality=95))
    assert frame.shape == (30, 20, 3)


def test_too_many_bytes_are_refused_before_anything_is_read() -> None:
    found = refusal(b"\x89PNG" + b"\x00" * 300_000)
    assert found.kind == "too_large"
    assert "300004 bytes" in found.message


def test_a_file_of_another_type_is_refused() -> None:
    for data in (gif(FRAME), b"%PDF-1.7 not an image", b"<svg xmlns='http://www.w3.org/2000/svg'/>"):
        assert refusal(data).kind == "unsupported_type"
    assert refusal(b"").kind == "undecodable"


@pytest.mark.parametrize("side", [12_000, 60_000])
def test_a_decompression_bomb_is_refused_from_its_header(side: int) -> None:
    """12,000: within Pillow's own bound (which only warns), beyond the site's; 60,000: beyond both."""
    bomb = png_bomb(side)
    assert len(bomb) < 100_000
    found = refusal(bomb, ImageBounds(max_bytes=10_000_000, max_pixels=50_000_000))
    assert found.kind == "too_many_pixels"
    assert f"{side} x {side}" in found.message or "decompression bomb" in found.message


def test_an_image_over_the_pixel_bound_is_refused() -> None:
    found = refusal(encoded(FRAME), ImageBounds(max_pixels=599))
    assert found.kind == "too_many_pixels"
    assert decode(encoded(FRAME), ImageBounds(max_pixels=600)).shape == (20, 30, 3)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_a_truncated_file_is_refused(image_format: str) -> None:
    data = encoded(FRAME, image_format)
    found = refusal(data[: len(data) * 2 // 3])
    assert found.kind == "undecodable"
    assert "truncated" in found.message or "corrupt" in found.message
