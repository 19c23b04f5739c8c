"""The lake feed: one claim-check event in, that blob's insights merged into the lake table.

Per event (topic ``insights``, subscription ``lake``): read the compliant blob, turn its
insights into rows (edgeloop.domain.lake_rows; a bad record fails the event before anything
is written), merge them on ``insight_id``. Idempotent: a redelivered event, or two blobs
holding the same insight, insert nothing twice, so no ledger is needed. The successor of the
Power BI push feed: Fabric (Direct Lake), Spark, Azure ML and DuckDB read the table as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edgeloop.domain.lake_rows import lake_rows
from edgeloop.domain.records import RecordError
from edgeloop.ports import BlobStore, BlobWrittenEvent, LakeTable
from edgeloop.wire.claim_check import ClaimCheckError
from edgeloop.wire.storage_layout import COMPLIANT_CONTAINER, read_jsonl_gz

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LakeResult:
    source: str
    rows: int  # insights in the blob
    inserted: int  # rows new to the table (0 on a redelivery)
    ignored: bool = False


class LakeFeed:
    def __init__(self, blobs: BlobStore, table: LakeTable) -> None:
        self._blobs = blobs
        self._table = table

    def deliver(self, event: BlobWrittenEvent) -> LakeResult:
        source = f"{event.container}/{event.blob_name}"
        if event.container != COMPLIANT_CONTAINER:  # anomalies holds copies of compliant insights
            logger.info("ignoring %s: only %s blobs feed the lake", source, COMPLIANT_CONTAINER)
            return LakeResult(source, 0, 0, ignored=True)
        lines = read_jsonl_gz(self._blobs.get(event.container, event.blob_name), source)
        try:
            rows = lake_rows([wire for _, wire in lines])
        except RecordError as exc:
            raise ClaimCheckError(f"{source}: {exc}") from None
        inserted = self._table.merge(rows) if rows else 0
        logger.info("%s: %d insights, %d new to the lake", source, len(rows), inserted)
        return LakeResult(source, len(rows), inserted)
