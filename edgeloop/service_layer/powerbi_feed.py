"""The Power BI feed: one claim-check event in, that blob's rows pushed to the report dataset.

Per event (topic ``insights``, subscription ``powerbi``): read the compliant
blob (gzipped JSON Lines of wire records), turn every record into the rows of
the model's dataset (edgeloop.domain.powerbi_rows: the task's prediction and
label columns; a bad record, or an insight of another task, fails the event
before anything is pushed), then push each table's rows in chunks of at most
10,000, in order.

Exactly-once, honestly: the ledger records a chunk only after the sink accepted
it (HTTP 200), keyed by blob, table and chunk index, and a redelivered event
resumes after the last recorded chunk, so redelivery never pushes a recorded
chunk again. A crash (or a lost 200) between the push and the mark means that
one chunk is pushed again on redelivery: at most one duplicated chunk per
failure. Power BI push datasets have no upsert, so rows carry ``insight_id`` /
``feedback_id``; reports count distinct ids to be exact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edgeloop.domain.powerbi_dataset import PowerBIDataset
from edgeloop.domain.powerbi_rows import rows_for_records
from edgeloop.domain.powerbi_schema import MAX_ROWS_PER_POST, chunk_bounds
from edgeloop.domain.records import RecordError
from edgeloop.ports import BlobStore, BlobWrittenEvent, DeliveryLedger, RowSink
from edgeloop.wire.claim_check import ClaimCheckError
from edgeloop.wire.storage_layout import COMPLIANT_CONTAINER, read_jsonl_gz

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeedResult:
    source: str
    records: int
    pushed_rows: dict[str, int]  # table -> rows pushed by this call
    pushed_chunks: int
    skipped_chunks: int  # recorded by an earlier delivery
    ignored: bool = False


class PowerBIFeed:
    def __init__(
        self,
        blobs: BlobStore,
        sink: RowSink,
        ledger: DeliveryLedger,
        dataset: PowerBIDataset,
        rows_per_push: int = MAX_ROWS_PER_POST,
    ) -> None:
        if not 1 <= rows_per_push <= MAX_ROWS_PER_POST:
            raise ValueError(f"rows_per_push must be 1..{MAX_ROWS_PER_POST}")
        self._blobs = blobs
        self._sink = sink
        self._ledger = ledger
        self._dataset = dataset
        self._rows_per_push = rows_per_push

    def deliver(self, event: BlobWrittenEvent) -> FeedResult:
        source = f"{event.container}/{event.blob_name}"
        if event.container != COMPLIANT_CONTAINER:  # anomalies holds copies of compliant insights
            logger.info("ignoring %s: only %s blobs feed Power BI", source, COMPLIANT_CONTAINER)
            return FeedResult(source, 0, {}, 0, 0, ignored=True)
        lines = read_jsonl_gz(self._blobs.get(event.container, event.blob_name), source)
        records = [wire for _, wire in lines]
        try:
            tables = rows_for_records(records, self._dataset)
        except RecordError as exc:
            raise ClaimCheckError(f"{source}: {exc}") from None
        pushed: dict[str, int] = {}
        pushed_chunks = skipped = 0
        for table, rows in tables.items():
            done_chunks, done_rows = self._ledger.delivered(source, table)
            skipped += done_chunks
            for offset, (start, end) in enumerate(chunk_bounds(len(rows), done_rows, self._rows_per_push)):
                self._sink.push_rows(table, rows[start:end])
                self._ledger.mark_delivered(source, table, done_chunks + offset, start, end)
                pushed[table] = pushed.get(table, 0) + end - start
                pushed_chunks += 1
        logger.info(
            "%s: %d records, pushed %s in %d chunks, %d chunks already delivered",
            source, len(records), pushed, pushed_chunks, skipped,
        )  # fmt: skip
        return FeedResult(source, len(records), pushed, pushed_chunks, skipped)
