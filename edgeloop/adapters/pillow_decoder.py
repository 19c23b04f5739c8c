"""The ``ImageDecoder`` port on Pillow: JPEG and PNG bytes to an RGB frame, within explicit bounds.

Checked in the order that costs least: the byte count; the format, from the file's own
header (the content type a client sends is not trusted); the pixel count, from the
header before a single pixel is decoded, so a decompression bomb (a small PNG of a huge
blank image) is refused without inflating it. Pillow's global ``Image.MAX_IMAGE_PIXELS``
is not relied on (it is process-wide and only warns below twice its value): the site's
bound is checked here, per call. A truncated file fails to load (Pillow's
``LOAD_TRUNCATED_IMAGES`` stays off) and is refused. EXIF orientation is applied, so a
phone's portrait photo is scored upright.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from edgeloop.domain.images import ImageBounds, ImageRefused, UploadedImage

FORMATS = ("JPEG", "PNG")


class PillowDecoder:
    def decode(self, image: UploadedImage, bounds: ImageBounds) -> npt.NDArray[np.uint8]:
        size = len(image.data)
        if size > bounds.max_bytes:
            message = f"{size} bytes, more than the {bounds.max_bytes} an image may have"
            raise ImageRefused("too_large", message)
        if size == 0:
            raise ImageRefused("undecodable", "the file is empty")
        with warnings.catch_warnings():
            # Pillow warns above its own global pixel bound; ours is checked below, per call.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _decoded(image.data, bounds)


def _decoded(data: bytes, bounds: ImageBounds) -> npt.NDArray[np.uint8]:
    try:
        opened = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise ImageRefused("unsupported_type", "not a JPEG or PNG image") from None
    except Image.DecompressionBombError as exc:  # beyond even Pillow's own bound, from the header
        raise ImageRefused("too_many_pixels", f"a decompression bomb: {exc}") from None
    except (OSError, ValueError) as exc:
        raise ImageRefused("undecodable", f"cannot read the image header: {exc}") from None
    with opened:
        width, height = opened.size
        if width * height > bounds.max_pixels:
            raise ImageRefused(
                "too_many_pixels",
                f"{width} x {height} pixels, more than the {bounds.max_pixels} an image may have",
            )
        try:
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            rgb = upright.convert("RGB")
        except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
            # OSError: "image file is truncated", a broken stream; SyntaxError: a broken PNG chunk.
            raise ImageRefused("undecodable", f"the image is truncated or corrupt: {exc}") from None
    frame: npt.NDArray[np.uint8] = np.asarray(rgb, dtype=np.uint8)
    return frame
