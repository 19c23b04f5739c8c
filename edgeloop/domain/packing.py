"""The packed queue message: many items in one gzip-compressed JSON document.

Storage Queues cap a message at 64 KiB *after* the base64 encoding the
Functions host expects, so a packed body (raw bytes) may be at most 48 KiB.
One message holds items from many requests; ``pack_items`` fills each
message close to that bound without ever exceeding it.

An item is a wire record (edgeloop.domain.records) or, since version 2, an
insight column document standing for many (edgeloop.domain.insight_columns);
``unpack_message`` gives the records either way, so consumers see records only.

Layout (before gzip): ``{"format": "edgeloop.pack", "version": 2, "records": [items]}``.
"""

from __future__ import annotations

import gzip
import zlib
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

import orjson
from isal import isal_zlib

from edgeloop.domain.insight_columns import expand_items

PACK_FORMAT = "edgeloop.pack"
PACK_VERSION = 2
# Version 1 bodies (records only) may still be queued when a site upgrades: still read.
READABLE_PACK_VERSIONS = frozenset({1, 2})
QUEUE_MESSAGE_LIMIT = 64 * 1024
# base64 turns 3 bytes into 4 characters; leave a little room for the XML envelope.
MAX_PACKED_BYTES = (QUEUE_MESSAGE_LIMIT * 3) // 4 - 512
# The longest item: alone in a body it fits however badly it compresses (gzip adds a few
# bytes per 16 KiB stored block, plus the head, tail and trailer).
MAX_ITEM_BYTES = MAX_PACKED_BYTES - 1024

_HEAD = b'{"format":"' + PACK_FORMAT.encode() + b'","version":' + str(PACK_VERSION).encode() + b',"records":['
_TAIL = b"]}"


class PackError(ValueError):
    """A message body that is not a valid packed message."""


# ISA-L's deflate (the ``isal`` package) at its level 1: on a 1,000-insight column
# document, 0.18 ms against zlib level 1's 0.76 ms, and 5% smaller. Its output is plain
# gzip: consumers read it with the standard library. The relay's CPU is the scarcer
# resource on a site (it shares the cores with scoring).
COMPRESS_LEVEL = 1
# Room kept in a message for what follows the last record: the tail, the final
# deflate block and the gzip trailer (about 20 bytes in practice).
_END_RESERVE = 64
_FIRST_RATIO_GUESS = 4.0  # compression ratio assumed until the first group is measured
# Below this much room a group may well overfill the body (and taking one back means
# compressing the body again: ISA-L's compressor cannot be copied), so a group goes in
# only if it fits even uncompressed; above it a group aims at half the room and
# overfills it only if it compresses more than twice worse than the records before.
_CAREFUL_ROOM = 8 * 1024
_STORED_OVERHEAD = 64  # what deflate adds, at most, to data it cannot shrink (stored blocks, flush)


def pack_items(records: Sequence[bytes], max_bytes: int = MAX_PACKED_BYTES) -> list[tuple[bytes, int]]:
    """Pack serialized items into as few bodies as fit; returns ``(body, item_count)``.

    Items keep their order across bodies. Raises :class:`PackError` for an
    item that cannot fit in a message on its own.
    """
    # ends[i]: bytes of records[:i], each with its separator; sums of any run in O(1).
    ends = list(accumulate((len(record) + 1 for record in records), initial=0))
    packs: list[tuple[bytes, int]] = []
    start = 0
    while start < len(records):
        body, count = _Body(records, ends, start, max_bytes).fill()
        packs.append((body, count))
        start += count
    return packs


class _Body:
    """One body holding as many records from ``start`` on as fit.

    Records go in by groups, each followed by a sync flush, so the compressed size so
    far is known exactly. Each group aims at half the room left, sized by the ratio
    measured so far: the body fills up in a few steps, compressing each record once.
    """

    def __init__(self, records: Sequence[bytes], ends: list[int], start: int, max_bytes: int) -> None:
        self._records = records
        self._ends = ends
        self._start = start
        self._max_bytes = max_bytes
        self._limit = max_bytes - _END_RESERVE
        self._restart()

    def _restart(self, groups: Sequence[int] = ()) -> None:
        """(Re)compress the body from scratch with the groups ending at ``groups``.

        The same groups compress to the same bytes again, so groups that fitted still fit.
        """
        self._compressor = isal_zlib.compressobj(COMPRESS_LEVEL, isal_zlib.DEFLATED, 31)  # wbits 31: gzip
        self._parts = [self._compressor.compress(_HEAD)]
        self._size = len(self._parts[0])
        self._end = self._start
        self._groups: list[int] = []
        for group_end in groups:
            if not self._add(group_end):
                raise AssertionError("groups that fitted must fit again")

    def _add(self, group_end: int) -> bool:
        """Compress ``records[end:group_end]`` into the body; False (nothing added) if it would overfill."""
        data = b",".join(self._records[self._end : group_end])
        room = self._limit - self._size
        if room < _CAREFUL_ROOM and len(data) + _STORED_OVERHEAD > room and group_end - self._end > 1:
            return False  # might not fit: try fewer records rather than risk compressing again
        lead = self._compressor.compress(b",") if self._end > self._start else b""
        piece = lead + self._compressor.compress(data) + self._compressor.flush(isal_zlib.Z_SYNC_FLUSH)
        if self._size + len(piece) <= self._limit:
            self._parts.append(piece)
            self._size += len(piece)
            self._end = group_end
            self._groups.append(group_end)
            return True
        # The group compressed worse than the records before it: rebuild the body without it.
        self._restart(list(self._groups))
        return False

    def fill(self) -> tuple[bytes, int]:
        records, ends, start = self._records, self._ends, self._start
        ratio = _FIRST_RATIO_GUESS
        max_group = len(records)
        while self._end < len(records) and self._size < self._limit:
            end = self._end
            # The longest run from ``end`` within the target (at least one record).
            target = ends[end] + (self._limit - self._size) * ratio / 2
            group_end = max(end + 1, min(bisect_right(ends, target) - 1, end + max_group))
            size_before = self._size
            if self._add(group_end):
                ratio = max(1.0, (ends[group_end] - ends[end]) / (self._size - size_before))
            elif group_end - end == 1:
                break  # not even one more record fits: this body is full
            else:
                max_group = (group_end - end) // 2
        if self._end == start:
            raise PackError(f"an item of {len(records[start])} bytes does not fit in one queue message")
        self._parts.append(self._compressor.compress(_TAIL) + self._compressor.flush())
        body = b"".join(self._parts)
        if len(body) > self._max_bytes:  # cannot happen: the reserve covers the end
            raise AssertionError(f"packed body of {len(body)} bytes exceeds {self._max_bytes}")
        return body, self._end - start


def unpack_message(body: bytes) -> list[Any]:
    """Decode one packed body into its raw records (not yet validated), column documents expanded."""
    try:
        raw = gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        raise PackError(f"not gzip data: {exc}") from None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PackError(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != PACK_FORMAT:
        raise PackError("not an edgeloop pack (format field missing or wrong)")
    version = document.get("version")
    if type(version) is not int or version not in READABLE_PACK_VERSIONS:
        raise PackError(f"unsupported pack version {document.get('version')!r}")
    items = document.get("records")
    if not isinstance(items, list):
        raise PackError("records must be a list")
    return expand_items(items)
