import base64
import gzip
import os
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.packing_reference import layout, plain_body, plain_pack

from edgeloop.wire.packing import (
    MAX_PACKED_BYTES,
    QUEUE_MESSAGE_LIMIT,
    PackError,
    pack_items,
    unpack_message,
)


def _records(count: int, noise: int = 0) -> list[bytes]:
    return [
        orjson.dumps({"kind": "insight", "n": i, "pad": os.urandom(noise).hex() if noise else "x"})
        for i in range(count)
    ]


@pytest.mark.parametrize(("count", "noise"), [(1, 0), (50_000, 0), (3_000, 64)])
def test_every_body_fits_a_queue_message_and_order_is_kept(count: int, noise: int) -> None:
    records = _records(count, noise)
    packs = pack_items(records)
    assert sum(n for _, n in packs) == count
    unpacked = [r for body, _ in packs for r in unpack_message(body)]
    assert [r["n"] for r in unpacked] == list(range(count))
    for body, _ in packs:
        assert len(base64.b64encode(body)) <= QUEUE_MESSAGE_LIMIT
        assert len(body) <= MAX_PACKED_BYTES


def test_compressible_records_share_messages() -> None:
    packs = pack_items(_records(20_000))
    assert len(packs) <= 3


def test_a_record_too_large_for_any_message_is_refused() -> None:
    with pytest.raises(PackError):
        pack_items([orjson.dumps({"pad": os.urandom(60_000).hex()})])


@pytest.mark.parametrize("body", [b"not gzip", b"\x1f\x8b\x08garbage"])
def test_garbage_bodies_raise_pack_error(body: bytes) -> None:
    with pytest.raises(PackError):
        unpack_message(body)


def test_bodies_are_filled_close_to_the_limit() -> None:
    """Fewer, fuller messages: every body but the last holds at least 95% of the limit."""
    packs = pack_items(_records(4_000, noise=48))
    assert len(packs) >= 3
    for body, _ in packs[:-1]:
        assert MAX_PACKED_BYTES * 0.95 <= len(body) <= MAX_PACKED_BYTES


def test_records_that_compress_far_worse_than_their_predecessors_still_fit() -> None:
    """Compressible records teach the packer a high ratio; random ones after them break it."""
    records = _records(3_000) + _records(400, noise=200) + _records(3_000)
    packs = pack_items(records)
    unpacked = [r["n"] for body, _ in packs for r in unpack_message(body)]
    assert unpacked == [*range(3_000), *range(400), *range(3_000)]
    assert all(len(body) <= MAX_PACKED_BYTES for body, _ in packs)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=40_000), min_size=1, max_size=40),
    max_bytes=st.integers(min_value=512, max_value=MAX_PACKED_BYTES),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_any_records_pack_in_order_within_the_limit(sizes: list[int], max_bytes: int, seed: int) -> None:
    rng = random.Random(seed)
    # Half the records random (incompressible), half repetitive.
    records = [
        orjson.dumps({"n": i, "pad": rng.randbytes(size // 2).hex() if i % 2 else "ab" * size})
        for i, size in enumerate(sizes)
    ]
    try:
        packs = pack_items(records, max_bytes)
    except PackError:
        # Only when some record cannot fit in a body of its own.
        assert any(pack_items_or_none([record], max_bytes) is None for record in records)
        return
    assert [r["n"] for body, _ in packs for r in unpack_message(body)] == list(range(len(records)))
    assert sum(count for _, count in packs) == len(records)
    assert all(len(body) <= max_bytes and count >= 1 for body, count in packs)


def pack_items_or_none(records: list[bytes], max_bytes: int) -> list[tuple[bytes, int]] | None:
    try:
        return pack_items(records, max_bytes)
    except PackError:
        return None


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=6_000), min_size=1, max_size=30),
    max_bytes=st.integers(min_value=8_192, max_value=MAX_PACKED_BYTES),  # every record fits alone
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_packed_bodies_hold_what_the_plain_reference_writes(
    sizes: list[int], max_bytes: int, seed: int
) -> None:
    """Several gzip members and ISA-L's deflate change the bytes, not what they decompress to."""
    rng = random.Random(seed)
    records = [
        orjson.dumps({"n": i, "pad": rng.randbytes(size // 2).hex() if i % 3 else "ab" * size})
        for i, size in enumerate(sizes)
    ]
    packs = pack_items(records, max_bytes)
    start = 0
    for body, count in packs:
        held = records[start : start + count]
        assert gzip.decompress(body) == layout(held) == gzip.decompress(plain_body(held))
        assert unpack_message(body) == unpack_message(plain_body(held))
        start += count
    assert start == len(records)
    reference = plain_pack(records, max_bytes)
    assert [r for body, _ in packs for r in unpack_message(body)] == [
        r for body, _ in reference for r in unpack_message(body)
    ]
