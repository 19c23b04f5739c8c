"""A frame's bytes without their metadata: what may leave the site is the picture, nothing else.

A phone's JPEG carries EXIF (where and when it was taken, the device), XMP, IPTC and
comments; a PNG carries text chunks and EXIF too; bytes appended after the image's end are
kept by most viewers and read by none. :func:`without_metadata` copies only the segments
(JPEG) or chunks (PNG) a decoder needs to draw the same pixels, and stops at the image's
end, so none of that reaches the cloud. Bytes that are not a well-formed JPEG or PNG raise
:class:`~edgeloop.domain.frames.FrameError` (``data``). Pure: bytes in, bytes out.
"""

from __future__ import annotations

from edgeloop.domain.frames import FrameError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Critical chunks (upper-case first letter) are always kept; of the ancillary ones, only those
# that change how the pixels look. Text, EXIF, times and unknown ancillary chunks go.
_PNG_KEPT_ANCILLARY = frozenset({b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs"})
# JPEG markers kept before and between scans: frames, tables, restart interval, JFIF (APP0),
# the ICC profile (APP2) and Adobe's colour transform (APP14). APP1 (EXIF, XMP), the other
# APPn (IPTC, maker notes) and COM (comments) go.
_JPEG_KEPT = frozenset(
    {*range(0xC0, 0xC8), *range(0xC9, 0xD0), 0xDB, 0xDD, 0xDC, 0xDE, 0xDF, 0xE0, 0xE2, 0xEE}
)
# APP2 and APP14 are kept only when they hold what their comment above says.
_JPEG_SIGNED = {0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}
_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_RESTARTS = range(0xD0, 0xD8)


def without_metadata(data: bytes, media_type: str) -> bytes:
    """``data`` (``image/jpeg`` or ``image/png``) with only what drawing it needs."""
    if media_type == "image/png":
        return _png(data)
    if media_type == "image/jpeg":
        return _jpeg(data)
    raise FrameError("media_type", f"no metadata rule for {media_type!r}")


def _png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise FrameError("data", "not a PNG")
    kept = [PNG_SIGNATURE]
    at = len(PNG_SIGNATURE)
    while at + 12 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        end = at + 12 + length
        if end > len(data):
            break
        if kind[:1].isupper() or kind in _PNG_KEPT_ANCILLARY:
            kept.append(data[at:end])
        if kind == b"IEND":
            return b"".join(kept)  # whatever follows the image's end stays behind
        at = end
    raise FrameError("data", "a truncated PNG (no IEND chunk)")


def _jpeg(data: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise FrameError("data", "not a JPEG")
    kept = [data[:2]]
    at = 2
    while True:
        marker, at = _next_marker(data, at)
        if marker == _EOI:
            kept.append(b"\xff\xd9")
            return b"".join(kept)  # whatever follows the image's end stays behind
        if at + 2 > len(data):
            raise FrameError("data", "a truncated JPEG")
        end = at + int.from_bytes(data[at : at + 2], "big")
        if end > len(data) or end < at + 2:
            raise FrameError("data", "a truncated JPEG")
        signed = _JPEG_SIGNED.get(marker)
        if marker == _SOS or (marker in _JPEG_KEPT and (signed is None or data[at + 2 :].startswith(signed))):
            kept.append(bytes((0xFF, marker)) + data[at:end])
        at = end
        if marker == _SOS:  # entropy-coded data, up to the next marker that is not a restart
            scan_end = _scan_end(data, at)
            kept.append(data[at:scan_end])
            at = scan_end


def _next_marker(data: bytes, at: int) -> tuple[int, int]:
    """The marker at ``at`` (fill bytes 0xFF skipped) and where its segment starts."""
    if at >= len(data) or data[at] != 0xFF:
        raise FrameError("data", "a malformed JPEG (no marker where one belongs)")
    while at < len(data) and data[at] == 0xFF:
        at += 1
    if at >= len(data) or data[at] in (0x00, _SOI):
        raise FrameError("data", "a malformed or truncated JPEG")
    return data[at], at + 1


def _scan_end(data: bytes, at: int) -> int:
    """Where a scan's entropy-coded data ends: the next 0xFF not stuffed (0x00) nor a restart."""
    while True:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= len(data):
            raise FrameError("data", "a truncated JPEG (a scan without an end)")
        following = data[at + 1]
        if following == 0x00 or following in _RESTARTS or following == 0xFF:
            at += 1 if following == 0xFF else 2
            continue
        return at
