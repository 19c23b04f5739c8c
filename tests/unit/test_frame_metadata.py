"""A frame's bytes without metadata (edgeloop.domain.frame_metadata), on images Pillow writes:
the same pixels, none of the EXIF, comments, text chunks or trailing bytes."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms, PngImagePlugin
from support.frames import canary, png_bytes

from edgeloop.domain.frame_metadata import without_metadata
from edgeloop.domain.frames import FrameError

ARTIST, IMAGE_DESCRIPTION = 0x013B, 0x010E


def picture(mode: str = "RGB", size: int = 48) -> Image.Image:
    image = Image.new(mode, (size, size))
    image.putdata([((x * 7) % 256, (x * 13) % 256, (x * 29) % 256) for x in range(size * size)])
    return image


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGBA").tobytes()


def jpeg_with_metadata(mark: str, **options: object) -> bytes:
    exif = Image.Exif()
    exif[ARTIST] = mark
    exif[IMAGE_DESCRIPTION] = f"line 3, {mark}"
    out = io.BytesIO()
    picture().save(out, format="JPEG", exif=exif.tobytes(), comment=mark.encode(), **options)
    return out.getvalue() + mark.encode()  # bytes after the image's end, too


@pytest.mark.parametrize(
    "options",
    [{}, {"progressive": True}, {"restart_marker_blocks": 1}, {"quality": 95, "subsampling": 0}],
    ids=["baseline", "progressive", "restart-markers", "no-subsampling"],
)
def test_a_jpeg_loses_exif_comments_and_trailing_bytes_and_keeps_its_pixels(
    options: dict[str, object],
) -> None:
    mark = canary()
    original = jpeg_with_metadata(mark, **options)
    assert original.count(mark.encode()) >= 3
    stripped = without_metadata(original, "image/jpeg")
    assert mark.encode() not in stripped
    assert b"Exif" not in stripped
    assert pixels(stripped) == pixels(original)
    with Image.open(io.BytesIO(stripped)) as image:
        assert "exif" not in image.info
        assert "comment" not in image.info


def test_a_jpeg_keeps_its_colour_profile() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    picture().save(out, format="JPEG", icc_profile=profile)
    stripped = without_metadata(out.getvalue(), "image/jpeg")
    with Image.open(io.BytesIO(stripped)) as image:
        assert image.info.get("icc_profile") == profile


def test_a_png_loses_text_exif_times_and_trailing_bytes_and_keeps_its_pixels() -> None:
    mark = canary()
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", mark)
    info.add_text("Comment", mark, zip=True)
    info.add_itxt("Description", mark)
    exif = Image.Exif()
    exif[ARTIST] = mark
    out = io.BytesIO()
    picture("RGBA").save(out, format="PNG", pnginfo=info, exif=exif.tobytes())
    original = out.getvalue() + mark.encode()
    stripped = without_metadata(original, "image/png")
    assert mark.encode() not in stripped
    assert pixels(stripped) == pixels(original)
    assert stripped.endswith(b"IEND\xaeB`\x82")


def test_a_palette_png_keeps_its_transparency() -> None:
    image = picture().convert("P")
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=0)
    stripped = without_metadata(out.getvalue(), "image/png")
    assert b"tRNS" in stripped
    assert pixels(stripped) == pixels(out.getvalue())


def test_the_canary_frames_of_the_upload_tests_lose_their_canary() -> None:
    mark = canary()
    assert mark.encode() not in without_metadata(png_bytes(mark), "image/png")


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (b"GIF89a", "image/png"),
        (b"GIF89a", "image/jpeg"),
        (png_bytes("cut")[:-20], "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (
            b"\xff\xd8\xff\xdb\x00\x43" + b"\x01" * 67 + b"\xff\xda\x00\x08" + b"\x00" * 6 + b"\x12\x34",
            "image/jpeg",
        ),
        (b"\xff\xd8\x00\x00", "image/jpeg"),
    ],
    ids=[
        "png-not-png",
        "jpeg-not-jpeg",
        "png-truncated",
        "jpeg-truncated-segment",
        "jpeg-scan-no-end",
        "jpeg-no-marker",
    ],
)
def test_bytes_that_are_not_a_well_formed_image_are_refused(data: bytes, media_type: str) -> None:
    with pytest.raises(FrameError) as caught:
        without_metadata(data, media_type)
    assert caught.value.field == "data"
