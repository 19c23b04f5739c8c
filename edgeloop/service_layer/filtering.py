"""The edge compliance function's core: one packed queue message in, compliant blobs out.

Per message: unpack (a body that is not a valid pack raises, so the Functions
host retries and finally poisons it, and nothing is written for it), validate
each record, apply the compliance policy, then write

1. refused records with their reason to the on-site ``quarantine`` container,
2. the batch's audit summary to the on-site ``audit`` container,
3. compliant records to the cloud ``compliant`` container and anomalous
   insights (by the *filtered* record's flag) to ``anomalies``,
4. one claim-check event per cloud blob to the ``insights`` topic.

Every name derives from the message body's hash, so a redelivered message
overwrites the same blobs and republishes the same event ids (duplicate
detection drops them) instead of duplicating anything.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from edgeloop.domain.compliance import AuditSummary, PolicyEngine
from edgeloop.domain.records import (
    FEEDBACK_KIND,
    INSIGHT_KIND,
    RecordError,
    format_timestamp,
    record_from_wire,
    utc_now,
)
from edgeloop.observability.tracing import NO_TRACER
from edgeloop.ports import BlobStore, BlobWrittenEvent, EventPublisher, Tracer
from edgeloop.wire.packing import unpack_traced
from edgeloop.wire.storage_layout import (
    ANOMALIES_CONTAINER,
    AUDIT_CONTAINER,
    AUDIT_CONTENT_TYPE,
    COMPLIANT_CONTAINER,
    QUARANTINE_CONTAINER,
    QUARANTINE_CONTENT_TYPE,
    RECORDS_CONTENT_TYPE,
    UNKNOWN,
    Partition,
    audit_blob_name,
    jsonl,
    jsonl_gz,
    partition_of,
    quarantine_blob_name,
    records_blob_name,
)

logger = logging.getLogger(__name__)

# Service Bus caps MessageId at 128 characters; longer names are hashed.
MAX_MESSAGE_ID = 128


@dataclass(frozen=True, slots=True)
class FilterResult:
    message_digest: str
    records: int
    compliant: int
    quarantined: int
    events: tuple[BlobWrittenEvent, ...]


def message_digest(body: bytes) -> str:
    """Stable across redeliveries (the body is); 128 bits keep names short and unique."""
    return hashlib.sha256(body).hexdigest()[:32]


def event_message_id(container: str, blob_name: str) -> str:
    text = f"{container}/{blob_name}"
    if len(text) <= MAX_MESSAGE_ID:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class InsightFilter:
    """Use case behind ``filter_insights``; all I/O goes through the ports given."""

    def __init__(
        self,
        engine: PolicyEngine,
        cloud_blobs: BlobStore,
        site_blobs: BlobStore,
        publisher: EventPublisher,
        clock: Callable[[], datetime] = utc_now,
        tracer: Tracer = NO_TRACER,
    ) -> None:
        self._engine = engine
        self._cloud = cloud_blobs
        self._site = site_blobs
        self._publisher = publisher
        self._clock = clock
        self._tracer = tracer

    def process_message(self, body: bytes) -> FilterResult:
        """Raises :class:`~edgeloop.wire.packing.PackError` for a body that is not a valid pack.

        Traced, one span: a child of the relay's (the message header's traceparent), linking
        every scoring the message carries; the events carry its traceparent on.
        """
        unpacked = unpack_traced(body)
        with self._tracer.span(
            "edgeloop.filter_insights",
            parent=unpacked.traceparent,
            links=unpacked.item_traceparents,
            attributes={"edgeloop.records": len(unpacked.records)},
            kind="consumer",
        ) as traceparent:
            return self._filter(body, unpacked.records, traceparent)

    def _filter(self, body: bytes, raw_records: list[Any], traceparent: str | None) -> FilterResult:
        digest = message_digest(body)
        audit = AuditSummary()
        quarantine: list[dict[str, Any]] = []
        groups: dict[tuple[str, Partition], list[dict[str, Any]]] = {}
        for index, raw in enumerate(raw_records):
            try:
                record = record_from_wire(raw)
            except RecordError as exc:
                audit.add_invalid()
                quarantine.append(_quarantined(index, "invalid", exc.field, exc.message, raw))
                continue
            decision = self._engine.decide(record.to_wire())
            audit.add(decision)
            if decision.record is None:
                quarantine.append(_quarantined(index, "policy", decision.rejected_by, decision.reason, raw))
                continue
            partition = partition_of(decision.record)
            groups.setdefault((COMPLIANT_CONTAINER, partition), []).append(decision.record)
            if decision.record.get("anomaly") is True and decision.record.get("kind") == INSIGHT_KIND:
                groups.setdefault((ANOMALIES_CONTAINER, partition), []).append(decision.record)

        # On-site writes first: if the cloud is unreachable the host retries the
        # whole message and these are simply overwritten with the same content.
        if quarantine:
            self._site.put(
                QUARANTINE_CONTAINER,
                quarantine_blob_name(digest),
                jsonl(quarantine),
                content_type=QUARANTINE_CONTENT_TYPE,
            )
        audit_document = {
            "message": digest,
            "processed_at": format_timestamp(self._clock()),
            **audit.to_dict(),
        }
        audit_bytes = orjson.dumps(audit_document, option=orjson.OPT_SORT_KEYS)
        self._site.put(AUDIT_CONTAINER, audit_blob_name(digest), audit_bytes, content_type=AUDIT_CONTENT_TYPE)

        events = [
            self._write_group(container, partition, records, digest, traceparent)
            for (container, partition), records in sorted(groups.items())
        ]
        if events:
            self._publisher.publish(events)
        logger.info(
            "message %s: %d records, %d compliant, %d quarantined, %d blobs",
            digest,
            len(raw_records),
            audit.compliant,
            len(quarantine),
            len(events),
        )
        return FilterResult(digest, len(raw_records), audit.compliant, len(quarantine), tuple(events))

    def _write_group(
        self,
        container: str,
        partition: Partition,
        records: list[dict[str, Any]],
        digest: str,
        traceparent: str | None,
    ) -> BlobWrittenEvent:
        name = records_blob_name(partition, digest)
        url = self._cloud.put(container, name, jsonl_gz(records), content_type=RECORDS_CONTENT_TYPE)
        insights = sum(1 for r in records if r.get("kind") == INSIGHT_KIND)
        feedback = sum(1 for r in records if r.get("kind") == FEEDBACK_KIND)
        return BlobWrittenEvent(
            message_id=event_message_id(container, name),
            subject=container,
            blob_url=url,
            container=container,
            blob_name=name,
            site_id=str(records[0].get("site_id") or UNKNOWN),
            record_count=len(records),
            insight_count=insights,
            feedback_count=feedback,
            traceparent=traceparent,
        )


def _quarantined(index: int, reason: str, field: str | None, detail: str | None, raw: Any) -> dict[str, Any]:
    """A quarantine line: the record as received (it stays on site) and why it was refused."""
    return {"index": index, "reason": reason, "field": field, "detail": detail, "record": raw}
