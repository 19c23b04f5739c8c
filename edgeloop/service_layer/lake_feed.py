"""The lake feed: one claim-check event in, that blob's insights and feedback merged into the lake.

Per event (topic ``insights``, subscription ``lake``): read the compliant blob, turn its
records into rows (edgeloop.domain.lake_rows; a bad record fails the event before anything
is written), merge the insights into ``insights`` on ``insight_id``, then the feedback into
``feedback`` on ``feedback_id``. Idempotent: a redelivered event (also one that failed
between the two merges), or two blobs holding the same record, insert nothing twice, so no
ledger is needed. The successor of the
Power BI push feed: Fabric (Direct Lake), Spark, Azure ML and DuckDB read the table as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edgeloop.domain.lake_rows import lake_table_rows
from edgeloop.domain.records import RecordError
from edgeloop.ports import BlobStore, BlobWrittenEvent, LakeTable
from edgeloop.wire.claim_check import ClaimCheckError
from edgeloop.wire.storage_layout import COMPLIANT_CONTAINER, read_jsonl_gz

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LakeResult:
    source: str
    rows: int  # insights in the blob
    inserted: int  # rows new to the insights table (0 on a redelivery)
    feedback_rows: int = 0  # feedback records in the blob
    feedback_inserted: int = 0  # rows new to the feedback table
    ignored: bool = False


class LakeFeed:
    def __init__(self, blobs: BlobStore, table: LakeTable, feedback: LakeTable) -> None:
        self._blobs = blobs
        self._table = table
        self._feedback = feedback

    def deliver(self, event: BlobWrittenEvent) -> LakeResult:
        source = f"{event.container}/{event.blob_name}"
        if event.container != COMPLIANT_CONTAINER:  # anomalies holds copies of compliant insights
            logger.info("ignoring %s: only %s blobs feed the lake", source, COMPLIANT_CONTAINER)
            return LakeResult(source, 0, 0, ignored=True)
        lines = read_jsonl_gz(self._blobs.get(event.container, event.blob_name), source)
        try:
            rows, feedback = lake_table_rows([wire for _, wire in lines])
        except RecordError as exc:
            raise ClaimCheckError(f"{source}: {exc}") from None
        inserted = self._table.merge(rows) if rows else 0
        feedback_inserted = self._feedback.merge(feedback) if feedback else 0
        logger.info(
            "%s: %d insights, %d new to the lake; %d feedback, %d new",
            source, len(rows), inserted, len(feedback), feedback_inserted,
        )  # fmt: skip
        return LakeResult(source, len(rows), inserted, len(feedback), feedback_inserted)
