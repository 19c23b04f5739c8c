"""The cloud ingest core: one claim-check event in, that blob's records in the global store.

Per event (topic ``insights``, subscription ``global``): read the compliant blob
the event points to (gzipped JSON Lines of wire records), validate *every*
record, then upsert them in one call. All or nothing: a missing or unreadable
blob, a line that is not JSON, a record that fails validation, or a record
count that disagrees with the event raises before anything is written, so the
message is retried and finally dead-lettered — never a partial, silent write.
The store's upsert is idempotent, so redelivery is harmless.

Site-status records (heartbeats) in the blob go to the store's site status, after the
insights and feedback; both writes are idempotent, so a redelivery after a failure in
between writes nothing twice. Shadow insights (a shadowed challenger's outputs,
edgeloop.domain.shadow_records) go to the store's shadow records, idempotent per ``shadow_id``.
The result carries the stored statuses (functions/cloud_global.py hands them to the drift
watch, edgeloop.service_layer.drift_watch).

The ``anomalies`` container holds copies of compliant insights; its events are
acknowledged without work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edgeloop.domain.records import FeedbackRecord, Record, RecordError, record_from_wire
from edgeloop.domain.shadow_records import ShadowInsightRecord
from edgeloop.domain.site_status import SiteStatusRecord
from edgeloop.observability.tracing import NO_TRACER
from edgeloop.ports import BlobStore, BlobWrittenEvent, InsightStore, Tracer
from edgeloop.wire.claim_check import ClaimCheckError
from edgeloop.wire.storage_layout import COMPLIANT_CONTAINER, read_jsonl_gz

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestResult:
    source: str
    insights: int = 0
    feedback: int = 0
    ignored: bool = False
    statuses: int = 0
    shadows: int = 0
    site_statuses: tuple[SiteStatusRecord, ...] = ()  # stored: the cloud's drift watch reads them


AnyRecord = Record | SiteStatusRecord | ShadowInsightRecord


def records_from_blob(data: bytes, source: str) -> list[AnyRecord]:
    """Every record of a gzipped JSON Lines blob, validated; the first bad line raises."""
    records: list[AnyRecord] = []
    for number, wire in read_jsonl_gz(data, source):
        try:
            records.append(record_from_wire(wire))
        except RecordError as exc:
            raise ClaimCheckError(f"{source}: line {number}: {exc.field}: {exc.message}") from None
    return records


class InsightIngest:
    """Use case behind ``ingest_insights``; I/O only through the ports given."""

    def __init__(self, blobs: BlobStore, store: InsightStore, tracer: Tracer = NO_TRACER) -> None:
        self._blobs = blobs
        self._store = store
        self._tracer = tracer

    def ingest(self, event: BlobWrittenEvent) -> IngestResult:
        """Traced, a span that is a child of the publishing one (the event's traceparent)."""
        source = f"{event.container}/{event.blob_name}"
        with self._tracer.span(
            "edgeloop.ingest_insights",
            parent=event.traceparent,
            attributes={"edgeloop.container": event.container, "edgeloop.records": event.record_count},
            kind="consumer",
        ):
            return self._ingest(event, source)

    def _ingest(self, event: BlobWrittenEvent, source: str) -> IngestResult:
        if event.container != COMPLIANT_CONTAINER:
            logger.debug("ignoring %s: only %s blobs are ingested", source, COMPLIANT_CONTAINER)
            return IngestResult(source, ignored=True)
        # A missing blob raises the blob store's not-found error: retried, then dead-lettered.
        records = records_from_blob(self._blobs.get(event.container, event.blob_name), source)
        if len(records) != event.record_count:
            counts = f"holds {len(records)} records, the event says {event.record_count}"
            raise ClaimCheckError(f"{source}: {counts}")
        statuses = [record for record in records if isinstance(record, SiteStatusRecord)]
        shadows = [record for record in records if isinstance(record, ShadowInsightRecord)]
        scored = [r for r in records if not isinstance(r, SiteStatusRecord | ShadowInsightRecord)]
        if scored:
            self._store.upsert(scored)
        if statuses:
            self._store.upsert_site_status(statuses)
        if shadows:
            self._store.upsert_shadow(shadows)
        feedback = sum(1 for record in scored if isinstance(record, FeedbackRecord))
        logger.info(
            "ingested %s: %d insights, %d feedback, %d site statuses, %d shadow insights",
            source, len(scored) - feedback, feedback, len(statuses), len(shadows),
        )  # fmt: skip
        return IngestResult(
            source,
            len(scored) - feedback,
            feedback,
            statuses=len(statuses),
            shadows=len(shadows),
            site_statuses=tuple(statuses),
        )
