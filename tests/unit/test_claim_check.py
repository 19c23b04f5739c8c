"""The claim-check event parser (wire.claim_check) and the records blob format (wire.storage_layout)."""

from __future__ import annotations

import dataclasses
import gzip

import orjson
import pytest

from edgeloop.wire.claim_check import BlobWrittenEvent, ClaimCheckError, parse_event
from edgeloop.wire.storage_layout import jsonl_gz, read_jsonl_gz

EVENT = BlobWrittenEvent(
    message_id="compliant/site=a/b.jsonl.gz", subject="compliant", blob_url="memory://compliant/site=a/b.jsonl.gz",
    container="compliant", blob_name="site=a/b.jsonl.gz", site_id="site-a", record_count=3, insight_count=3,
    feedback_count=0,
)  # fmt: skip


def test_parse_event_round_trips_and_names_a_bad_field() -> None:
    body = orjson.dumps(dataclasses.asdict(EVENT))
    assert parse_event(body) == EVENT
    assert parse_event(body.decode()) == EVENT
    broken = orjson.loads(body) | {"record_count": "3"}
    with pytest.raises(ClaimCheckError, match=r"event\.record_count"):
        parse_event(orjson.dumps(broken))
    with pytest.raises(ClaimCheckError, match="not JSON"):
        parse_event(b"{")
    with pytest.raises(ClaimCheckError, match="must be a JSON object"):
        parse_event(b"[]")
    with pytest.raises(ClaimCheckError, match=r"event\.blob_name"):
        parse_event({k: v for k, v in orjson.loads(body).items() if k != "blob_name"})
    with pytest.raises(ClaimCheckError, match=r"event\.record_count"):
        parse_event({**{f.name: "x" for f in dataclasses.fields(BlobWrittenEvent)}, "record_count": "3"})
    with pytest.raises(ClaimCheckError, match=r"event\.insight_count"):
        parse_event(dataclasses.asdict(EVENT) | {"insight_count": True})  # a bool is not a count


def test_a_written_blob_reads_back_with_line_numbers() -> None:
    lines = [{"b": 1, "a": [1, 2]}, {"kind": "insight"}]
    data = jsonl_gz(lines)
    assert data == jsonl_gz(lines)  # deterministic bytes: a redelivery overwrites the same blob
    assert read_jsonl_gz(data, "c/b") == [(1, lines[0]), (2, lines[1])]
    assert read_jsonl_gz(gzip.compress(b'{"a": 1}\n\n{"a": 2}\n'), "c/b") == [(1, {"a": 1}), (3, {"a": 2})]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not gzip", "c/b: not a gzip stream"),
        (gzip.compress(b'{"a": 1}\n{oops\n', mtime=0), "c/b: line 2: not JSON"),
    ],
    ids=["not gzip", "gzip of bad JSON"],  # ids, not the bytes: each xdist worker must collect the same tests
)
def test_an_unreadable_blob_names_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(ClaimCheckError, match=message):
        read_jsonl_gz(data, "c/b")
