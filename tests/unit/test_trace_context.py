"""The trace context on the wire: optional, ids only, untraced bytes unchanged, old data accepted."""

from __future__ import annotations

import gzip

import orjson
import pytest

from edgeloop.adapters.servicebus_publisher import event_body
from edgeloop.ports import BlobWrittenEvent
from edgeloop.wire.claim_check import parse_event
from edgeloop.wire.insight_columns import InsightColumns, document_traceparent, expand_columns
from edgeloop.wire.packing import pack_items, unpack_message, unpack_traced
from edgeloop.wire.trace_context import distinct_traceparents, span_id_of, trace_id_of, valid_traceparent

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
OTHER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def columns(traceparent: str | None = None) -> InsightColumns:
    return InsightColumns(
        "site-a",
        "2026-05-01T12:00:00.000000Z",
        {"name": "m", "version": "1", "sha256": "0" * 64},
        "1" * 32,
        0,
        {"torque_nm": [40.0, 41.5]},
        {"risk": [b"0.25", b"0.75"]},
        [False, True],
        [(), ("high_risk",)],
        [{"product_id": "P1"}, {}],
        traceparent,
    )


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        TRACE.upper(),
        TRACE[:-1],
        "01" + TRACE[2:],  # a version this reader does not know
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",  # W3C: an all-zero trace id is invalid
        "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01",
        "00-Jane.Roe@example.com-aaaaaaaaaaaaaa-01",
    ],
)
def test_anything_but_a_well_formed_traceparent_is_absent(value: object) -> None:
    assert valid_traceparent(value) is None


def test_a_traceparent_names_its_trace_and_span() -> None:
    assert valid_traceparent(TRACE) == TRACE
    assert trace_id_of(TRACE) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span_id_of(TRACE) == "00f067aa0ba902b7"
    assert distinct_traceparents([None, TRACE, "junk", OTHER, TRACE]) == [TRACE, OTHER]


def test_an_untraced_column_document_is_byte_for_byte_what_it_was() -> None:
    document = columns().document()
    assert b"traceparent" not in document
    assert list(orjson.loads(document))[:2] == ["kind", "schema_version"]
    assert document_traceparent(document) is None


def test_a_traced_document_carries_the_traceparent_first_and_its_records_do_not() -> None:
    document = columns(TRACE).document()
    assert document_traceparent(document) == TRACE
    untraced = orjson.loads(columns().document())
    traced = orjson.loads(document)
    assert traced.pop("traceparent") == TRACE
    assert traced == untraced
    records = expand_columns(orjson.loads(document))
    assert records is not None
    assert records == expand_columns(untraced)
    assert all("traceparent" not in record for record in records)
    # Kept by every slice the documents are cut into.
    slices = columns(TRACE).documents(len(document) - 1)
    assert len(slices) == 2
    assert all(document_traceparent(piece) == TRACE for piece, _ in slices)


def test_a_forged_prefix_yields_no_traceparent() -> None:
    forged = b'{"kind":"insight_columns","traceparent":"Jane Roe, 12 Main Street, Springfield..."}'
    assert document_traceparent(forged) is None


def test_the_pack_header_carries_the_senders_traceparent_and_old_bodies_read_as_before() -> None:
    items = [columns(TRACE).document(), columns().document()]
    [(untraced, _)] = pack_items(items)
    [(traced, _)] = pack_items(items, traceparent=OTHER)
    header = orjson.loads(gzip.decompress(untraced).split(b"\n")[0])
    assert header == {"format": "edgeloop.pack", "version": 2}
    assert unpack_message(traced) == unpack_message(untraced)
    found = unpack_traced(traced)
    assert found.traceparent == OTHER
    assert found.item_traceparents == [TRACE]
    assert unpack_traced(untraced).traceparent is None
    # Version 1 bodies (older sites) have no trace context at all.
    version_1 = gzip.compress(orjson.dumps({"format": "edgeloop.pack", "version": 1, "records": []}) + b"\n")
    assert unpack_traced(version_1).traceparent is None


def event(traceparent: str | None = None) -> BlobWrittenEvent:
    return BlobWrittenEvent(
        message_id="compliant/site=a/x.jsonl.gz",
        subject="compliant",
        blob_url="http://127.0.0.1/cloud/compliant/site=a/x.jsonl.gz",
        container="compliant",
        blob_name="site=a/x.jsonl.gz",
        site_id="site-a",
        record_count=2,
        insight_count=2,
        feedback_count=0,
        traceparent=traceparent,
    )


def test_the_event_body_names_the_traceparent_only_when_traced() -> None:
    assert "traceparent" not in event_body(event())
    assert event_body(event(TRACE))["traceparent"] == TRACE
    assert parse_event(orjson.dumps(event_body(event(TRACE)))) == event(TRACE)
    assert parse_event(orjson.dumps(event_body(event()))) == event()


def test_an_events_malformed_traceparent_loses_the_link_not_the_event() -> None:
    body = event_body(event()) | {"traceparent": "not a traceparent"}
    assert parse_event(body) == event()
