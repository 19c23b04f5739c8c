"""The storage layout (edgeloop.wire.storage_layout): blob names built and read back, and the readers."""

from __future__ import annotations

import gzip
import logging

import pytest

from edgeloop.wire.claim_check import ClaimCheckError
from edgeloop.wire.storage_layout import (
    UNKNOWN,
    jsonl_gz,
    partition_of,
    read_jsonl_gz,
    read_objects_skipping_bad,
    records_blob_date,
    records_blob_name,
)


def test_a_records_blob_name_carries_its_partition_and_gives_its_date_back() -> None:
    record = {"site_id": "site a/1", "scored_at": "2026-11-21T09:05:00.000000Z"}
    name = records_blob_name(partition_of(record), "ab" * 16)
    assert name == f"site=site%20a%2F1/date=2026-11-21/hour=09/{'ab' * 16}.jsonl.gz"
    assert records_blob_date(name) == "2026-11-21"
    unknown = records_blob_name(partition_of({}), "cd" * 16)
    assert unknown == f"site={UNKNOWN}/date={UNKNOWN}/hour={UNKNOWN}/{'cd' * 16}.jsonl.gz"
    assert records_blob_date(unknown) is None
    assert records_blob_date("not/the/layout.jsonl.gz") is None


def test_the_strict_reader_names_the_first_bad_line() -> None:
    data = gzip.compress(b'{"a": 1}\n\n{"b":\n', mtime=0)
    with pytest.raises(ClaimCheckError, match=r"^compliant/x: line 3: not JSON"):
        read_jsonl_gz(data, "compliant/x")
    with pytest.raises(ClaimCheckError, match=r"^compliant/x: not a gzip stream"):
        read_jsonl_gz(b"plain", "compliant/x")


def test_the_skipping_reader_keeps_every_object_it_can_read(caplog: pytest.LogCaptureFixture) -> None:
    data = gzip.compress(b'{"a": 1}\nnot json\n[1, 2]\n\n{"b": 2}\n', mtime=0)
    with caplog.at_level(logging.WARNING, logger="edgeloop.wire.storage_layout"):
        assert read_objects_skipping_bad(data, "compliant/x") == [{"a": 1}, {"b": 2}]
        assert read_objects_skipping_bad(b"plain", "compliant/y") == []
        assert read_objects_skipping_bad(gzip.compress(b"\xff\xfe", mtime=0), "compliant/z") == []
    assert "not JSON in compliant/x" in caplog.text
    assert "unreadable blob compliant/y" in caplog.text
    assert "unreadable blob compliant/z" in caplog.text


def test_both_readers_read_what_the_writer_writes() -> None:
    lines = [{"kind": "insight", "n": index} for index in range(3)]
    data = jsonl_gz(lines)
    assert data == jsonl_gz(lines)  # deterministic bytes: a redelivery overwrites with the same blob
    assert [value for _, value in read_jsonl_gz(data, "s")] == lines
    assert read_objects_skipping_bad(data, "s") == lines
