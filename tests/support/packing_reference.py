"""The packed queue message written plainly: one gzip stream (the standard library's) per body.

The oracle of edgeloop.wire.packing, whose ``pack_items`` writes the same layout faster
(ISA-L's deflate, a body as several gzip members so a group that overfills it is the only
one compressed again). tests/unit/test_packing.py checks that both decompress to the same
bytes and read back as the same records. Slow on purpose: it recompresses the whole body
for every item it adds.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence

import orjson

from edgeloop.wire.packing import PACK_FORMAT, PACK_VERSION, PackError

HEADER_LINE = orjson.dumps({"format": PACK_FORMAT, "version": PACK_VERSION}) + b"\n"


def layout(items: Sequence[bytes]) -> bytes:
    """A body's bytes before compression: the header line, then one item per line."""
    return HEADER_LINE + b"".join(item + b"\n" for item in items)


def plain_body(items: Sequence[bytes]) -> bytes:
    return gzip.compress(layout(items))


def plain_pack(items: Sequence[bytes], max_bytes: int) -> list[tuple[bytes, int]]:
    """Items in order, each body as many as fit in ``max_bytes``; ``(body, item_count)``."""
    packs: list[tuple[bytes, int]] = []
    start = 0
    while start < len(items):
        end = start
        while end < len(items) and len(plain_body(items[start : end + 1])) <= max_bytes:
            end += 1
        if end == start:
            raise PackError(f"an item of {len(items[start])} bytes does not fit in one queue message")
        packs.append((plain_body(items[start:end]), end - start))
        start = end
    return packs
