"""The packed queue message: many records in one gzip-compressed JSON document.

Storage Queues cap a message at 64 KiB *after* the base64 encoding the
Functions host expects, so a packed body (raw bytes) may be at most 48 KiB.
One message holds records from many requests; ``pack_records`` fills each
message close to that bound without ever exceeding it.

Layout (before gzip): ``{"format": "edgeloop.pack", "version": 1, "records": [...]}``.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

PACK_FORMAT = "edgeloop.pack"
PACK_VERSION = 1
QUEUE_MESSAGE_LIMIT = 64 * 1024
# base64 turns 3 bytes into 4 characters; leave a little room for the XML envelope.
MAX_PACKED_BYTES = (QUEUE_MESSAGE_LIMIT * 3) // 4 - 512

_HEAD = b'{"format":"' + PACK_FORMAT.encode() + b'","version":' + str(PACK_VERSION).encode() + b',"records":['
_TAIL = b"]}"


class PackError(ValueError):
    """A message body that is not a valid packed message."""


def _compress(records: Sequence[bytes]) -> bytes:
    # Level 6 is zlib's default balance; wbits=31 writes a gzip stream anyone can read.
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    parts = [compressor.compress(_HEAD), compressor.compress(b",".join(records))]
    parts.append(compressor.compress(_TAIL))
    parts.append(compressor.flush())
    return b"".join(parts)


def pack_records(records: Sequence[bytes], max_bytes: int = MAX_PACKED_BYTES) -> list[tuple[bytes, int]]:
    """Pack serialized records into as few bodies as fit; returns ``(body, record_count)``.

    Records keep their order across bodies. Raises :class:`PackError` for a
    record that cannot fit in a message on its own.
    """
    return list(_iter_packs(records, max_bytes))


def _iter_packs(records: Sequence[bytes], max_bytes: int) -> Iterator[tuple[bytes, int]]:
    ratio = 4.0  # first guess of the compression ratio, then learned from each body
    start = 0
    while start < len(records):
        budget = int(max_bytes * ratio * 0.92)
        end, size = start, 0
        while end < len(records) and (end == start or size + len(records[end]) + 1 <= budget):
            size += len(records[end]) + 1
            end += 1
        chunk = records[start:end]
        body = _compress(chunk)
        while len(body) > max_bytes:
            if len(chunk) == 1:
                raise PackError(f"a record of {len(chunk[0])} bytes does not fit in one queue message")
            chunk = chunk[: len(chunk) // 2]
            body = _compress(chunk)
        ratio = max(1.0, sum(len(r) + 1 for r in chunk) / max(1, len(body)))
        yield body, len(chunk)
        start += len(chunk)


def unpack_message(body: bytes) -> list[Any]:
    """Decode one packed body into its raw records (not yet validated)."""
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
    if document.get("version") != PACK_VERSION:
        raise PackError(f"unsupported pack version {document.get('version')!r}")
    records = document.get("records")
    if not isinstance(records, list):
        raise PackError("records must be a list")
    return records
