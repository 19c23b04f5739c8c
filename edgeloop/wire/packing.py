"""The packed queue message: many items, gzip-compressed, in one message.

Storage Queues cap a message at 64 KiB *after* the base64 encoding the
Functions host expects, so a packed body (raw bytes) may be at most 48 KiB.
One message holds items from many requests; ``pack_items`` fills each
message close to that bound without ever exceeding it.

An item is a wire record (edgeloop.domain.records) or an insight column document
standing for many (edgeloop.wire.insight_columns); ``unpack_message`` gives the
records either way, so consumers see records only.

Layout, version 2: JSON Lines, gzip-compressed: the line
``{"format": "edgeloop.pack", "version": 2}``, then one item per line. The body is
a series of gzip members (RFC 1952 allows several; every gzip reader decompresses
them as one stream), one per group of items: a group that would overfill the body
is dropped and tried smaller, without compressing the body's other groups again.
Version 1 (``{"format", "version": 1, "records": [...]}``, one document) is still read.
A traced relay adds ``"traceparent"`` (its span, edgeloop.wire.trace_context) to the header
line; without it the header is byte for byte the untraced one, and readers accept both.
The same layout written plainly (one standard-library gzip stream per body) is
tests/support/packing_reference.py, which a property test compares with ``pack_items``.
"""

from __future__ import annotations

import gzip
import zlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import orjson
from isal import isal_zlib

from edgeloop.wire.insight_columns import expand_items, item_traceparents
from edgeloop.wire.trace_context import distinct_traceparents, valid_traceparent

PACK_FORMAT = "edgeloop.pack"
PACK_VERSION = 2
QUEUE_MESSAGE_LIMIT = 64 * 1024
# base64 turns 3 bytes into 4 characters; leave a little room for the XML envelope.
MAX_PACKED_BYTES = (QUEUE_MESSAGE_LIMIT * 3) // 4 - 512
# The longest item: alone in a body it fits however badly it compresses (deflate adds a
# few bytes per stored block, gzip 18 bytes per member, plus the header member).
MAX_ITEM_BYTES = MAX_PACKED_BYTES - 1024

# ISA-L's deflate (the ``isal`` package) at its level 1: several times faster than zlib's
# level 1, no larger, and plain gzip to every reader. The relay shares a site's cores with scoring.
COMPRESS_LEVEL = 1
_FIRST_RATIO_GUESS = 4.0  # compression ratio assumed until the first group is measured


class PackError(ValueError):
    """A message body that is not a valid packed message."""


def _compress(data: bytes) -> bytes:
    """``data`` as one gzip member."""
    compressor = isal_zlib.compressobj(COMPRESS_LEVEL, isal_zlib.DEFLATED, 31)  # wbits 31: gzip
    return compressor.compress(data) + compressor.flush()


_HEADER_LINE = orjson.dumps({"format": PACK_FORMAT, "version": PACK_VERSION}) + b"\n"
_HEADER_MEMBER = _compress(_HEADER_LINE)


@dataclass(frozen=True, slots=True)
class Unpacked:
    """A packed body's records, the sender's traceparent and those of its column documents."""

    records: list[Any]
    traceparent: str | None
    item_traceparents: list[str]


def _header_member(traceparent: str | None) -> bytes:
    if traceparent is None:
        return _HEADER_MEMBER
    header = {"format": PACK_FORMAT, "version": PACK_VERSION, "traceparent": traceparent}
    return _compress(orjson.dumps(header) + b"\n")


def pack_items(
    items: Sequence[bytes], max_bytes: int = MAX_PACKED_BYTES, traceparent: str | None = None
) -> list[tuple[bytes, int]]:
    """Pack serialized items (single-line JSON) into as few bodies as fit; ``(body, item_count)``.

    Items keep their order across bodies; ``traceparent`` goes in every body's header.
    Raises :class:`PackError` for an item that cannot fit in a message on its own.
    """
    header = _header_member(traceparent)
    # ends[i]: bytes of items[:i], each with its newline; sums of any run in O(1).
    ends = list(accumulate((len(item) + 1 for item in items), initial=0))
    packs: list[tuple[bytes, int]] = []
    start = 0
    while start < len(items):
        body, count = _fill(items, ends, start, max_bytes, header)
        packs.append((body, count))
        start += count
    return packs


def _fill(
    items: Sequence[bytes], ends: list[int], start: int, max_bytes: int, header: bytes
) -> tuple[bytes, int]:
    """One body holding as many items from ``start`` on as fit.

    Items go in by groups, each its own gzip member, so the size so far is known exactly.
    Each group aims at half the room left, sized by the ratio measured so far: the body
    fills up in a few steps. A group that overfills is dropped and tried at half its
    length; only that group is compressed again.
    """
    members = [header]
    size = len(header)
    end = start
    ratio = _FIRST_RATIO_GUESS
    max_group = len(items)
    while end < len(items):
        target = ends[end] + (max_bytes - size) * ratio / 2
        group_end = max(end + 1, min(bisect_right(ends, target) - 1, end + max_group))
        member = _compress(b"\n".join(items[end:group_end]) + b"\n")
        if size + len(member) <= max_bytes:
            members.append(member)
            size += len(member)
            ratio = max(1.0, (ends[group_end] - ends[end]) / len(member))
            end = group_end
        elif group_end - end == 1:
            break  # not even one more item fits: this body is full
        else:
            max_group = (group_end - end) // 2
    if end == start:
        raise PackError(f"an item of {len(items[start])} bytes does not fit in one queue message")
    return b"".join(members), end - start


def unpack_message(body: bytes) -> list[Any]:
    """Decode one packed body into its raw records (not yet validated), column documents expanded."""
    return unpack_traced(body).records


def unpack_traced(body: bytes) -> Unpacked:
    """:func:`unpack_message` with the trace context the body carries (None/empty if none)."""
    header, items = _decoded(body)
    return Unpacked(
        expand_items(items),
        valid_traceparent(header.get("traceparent")),
        distinct_traceparents(item_traceparents(items)),
    )


def _decoded(body: bytes) -> tuple[dict[str, Any], list[Any]]:
    """The header and the items (column documents as they are) of a packed body."""
    try:
        raw = gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise PackError(f"not gzip data: {exc}") from None
    first, _, rest = raw.partition(b"\n")
    try:
        header = orjson.loads(first)
        lines = [orjson.loads(line) for line in rest.split(b"\n")[:-1]] if rest else []
    except orjson.JSONDecodeError as exc:
        raise PackError(f"not JSON: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != PACK_FORMAT:
        raise PackError("not an edgeloop pack (format field missing or wrong)")
    version = header.get("version")
    if version == 2 and type(version) is int:
        if rest and not rest.endswith(b"\n"):
            raise PackError("truncated: the last item has no line end")
        return header, lines
    if version == 1 and type(version) is int and not rest:
        items = header.get("records")
        if not isinstance(items, list):
            raise PackError("records must be a list")
        return header, items
    raise PackError(f"unsupported pack version {version!r}")
