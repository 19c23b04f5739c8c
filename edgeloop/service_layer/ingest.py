"""The cloud ingest core: one claim-check event in, that blob's records in the global store.

Per event (topic ``insights``, subscription ``global``): read the compliant blob
the event points to (gzipped JSON Lines of wire records), validate *every*
record, then upsert them in one call. All or nothing: a missing or unreadable
blob, a line that is not JSON, a record that fails validation, or a record
count that disagrees with the event raises before anything is written, so the
message is retried and finally dead-lettered — never a partial, silent write.
The store's upsert is idempotent, so redelivery is harmless.

The ``anomalies`` container holds copies of compliant insights; its events are
acknowledged without work.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import orjson

from edgeloop.domain.records import FeedbackRecord, Record, RecordError, record_from_wire
from edgeloop.ports import BlobStore, BlobWrittenEvent, InsightStore

logger = logging.getLogger(__name__)

INGESTED_CONTAINER = "compliant"


class IngestError(ValueError):
    """An event or blob that cannot be ingested; the message names what is wrong."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    source: str
    insights: int = 0
    feedback: int = 0
    ignored: bool = False


def event_from_body(body: bytes | str | Mapping[str, Any]) -> BlobWrittenEvent:
    """The event from a message body: the JSON object of the event's fields."""
    if isinstance(body, bytes | str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise IngestError(f"event: body is not JSON ({exc})") from None
    if not isinstance(body, Mapping):
        raise IngestError("event: body must be a JSON object")
    values: dict[str, Any] = {}
    for spec in fields(BlobWrittenEvent):
        value = body.get(spec.name)
        expected = int if spec.type in ("int", int) else str
        if isinstance(value, bool) or not isinstance(value, expected):
            raise IngestError(f"event.{spec.name}: expected {expected.__name__}, got {value!r}")
        values[spec.name] = value
    return BlobWrittenEvent(**values)


def records_from_blob(data: bytes, source: str) -> list[Record]:
    """Every record of a gzipped JSON Lines blob, validated; the first bad line raises."""
    try:
        text = gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise IngestError(f"{source}: not a gzip stream ({exc})") from None
    records: list[Record] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(record_from_wire(orjson.loads(line)))
        except orjson.JSONDecodeError as exc:
            raise IngestError(f"{source}: line {number}: not JSON ({exc})") from None
        except RecordError as exc:
            raise IngestError(f"{source}: line {number}: {exc.field}: {exc.message}") from None
    return records


class InsightIngest:
    """Use case behind ``ingest_insights``; I/O only through the ports given."""

    def __init__(self, blobs: BlobStore, store: InsightStore) -> None:
        self._blobs = blobs
        self._store = store

    def ingest(self, event: BlobWrittenEvent) -> IngestResult:
        source = f"{event.container}/{event.blob_name}"
        if event.container != INGESTED_CONTAINER:
            logger.debug("ignoring %s: only %s blobs are ingested", source, INGESTED_CONTAINER)
            return IngestResult(source, ignored=True)
        # A missing blob raises the blob store's not-found error: retried, then dead-lettered.
        records = records_from_blob(self._blobs.get(event.container, event.blob_name), source)
        if len(records) != event.record_count:
            raise IngestError(f"{source}: holds {len(records)} records, the event says {event.record_count}")
        self._store.upsert(records)
        feedback = sum(1 for record in records if isinstance(record, FeedbackRecord))
        logger.info("ingested %s: %d insights, %d feedback", source, len(records) - feedback, feedback)
        return IngestResult(source, insights=len(records) - feedback, feedback=feedback)
