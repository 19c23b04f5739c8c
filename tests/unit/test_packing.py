import base64
import os

import orjson
import pytest

from edgeloop.domain.packing import (
    MAX_PACKED_BYTES,
    QUEUE_MESSAGE_LIMIT,
    PackError,
    pack_records,
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
    packs = pack_records(records)
    assert sum(n for _, n in packs) == count
    unpacked = [r for body, _ in packs for r in unpack_message(body)]
    assert [r["n"] for r in unpacked] == list(range(count))
    for body, _ in packs:
        assert len(base64.b64encode(body)) <= QUEUE_MESSAGE_LIMIT
        assert len(body) <= MAX_PACKED_BYTES


def test_compressible_records_share_messages() -> None:
    packs = pack_records(_records(20_000))
    assert len(packs) <= 3


def test_a_record_too_large_for_any_message_is_refused() -> None:
    with pytest.raises(PackError):
        pack_records([orjson.dumps({"pad": os.urandom(60_000).hex()})])


@pytest.mark.parametrize("body", [b"not gzip", b"\x1f\x8b\x08garbage"])
def test_garbage_bodies_raise_pack_error(body: bytes) -> None:
    with pytest.raises(PackError):
        unpack_message(body)
