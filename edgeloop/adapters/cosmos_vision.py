"""The Cosmos DB global store's vision counters: a document per (camera, hour, model) in the site's partition.

``doc_type`` ``vision_hourly``, ``id`` ``_vision_<hour>_<hash of camera, model, version>``, the class
mix inline (``classes``: class -> count), a detection model's ``accepted``, ``rejected`` and
``missed``, ``ttl`` -1 as the hourly counters. A document from before those three reads them as
0; the first write that moves it takes them from the hour's stored insights and their feedback
as read before the batch (``_with_stored_verdicts``), so a later label replacing one counted
before them takes away what was added (the verdicts of insights expired since are not counted,
and cannot change any more). Written in the same
transactional batch as the insights they count, conditional on the etags read before
(``CosmosInsightStore._write_chunk`` asks this mixin for their operations), so a redelivered record
writes nothing; a chunk whose operations pass a batch's 100 is written as two halves. Read as the
hourly counters are: one partition for a site, across partitions for every site (a row per camera
and hour).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from azure.cosmos import ContainerProxy

from edgeloop.adapters.cosmos_documents import INSIGHT, Doc, Operation, state_of, write_if_changed
from edgeloop.domain.hours import hour_range
from edgeloop.domain.insights_view import IncomingRecords
from edgeloop.domain.vision_counts import (
    VisionCounts,
    VisionKey,
    VisionRow,
    summed,
    vision_contribution,
    vision_delta,
    vision_state,
)

VISION = "vision_hourly"
MAX_OPERATIONS = 100  # in one transactional batch: a chunk whose vision counters pass it is halved


def vision_id(key: VisionKey) -> str:
    # Camera ids, model names and versions may hold characters an id may not: hash them.
    digest = hashlib.sha256(f"{key.camera_id}\0{key.model_name}\0{key.model_version}".encode()).hexdigest()
    return f"_vision_{key.hour}_{digest[:24]}"


def vision_doc(key: VisionKey, counts: VisionCounts) -> Doc:
    return {
        "id": vision_id(key),
        "site_id": key.site_id,
        "doc_type": VISION,
        "camera_id": key.camera_id,
        "hour": key.hour,
        "model_name": key.model_name,
        "model_version": key.model_version,
        "frames": counts.frames,
        "defects": counts.defects,
        "anomalies": counts.anomalies,
        "classes": dict(counts.classes),
        "accepted": counts.accepted,
        "rejected": counts.rejected,
        "missed": counts.missed,
        "ttl": -1,  # as the hourly counters: the vision page's history outlives the insights
    }


def vision_row(doc: Doc) -> VisionRow:
    key = VisionKey(doc["site_id"], doc["camera_id"], doc["hour"], doc["model_name"], doc["model_version"])
    verdicts = (int(doc.get("accepted", 0)), int(doc.get("rejected", 0)), int(doc.get("missed", 0)))
    counts = VisionCounts.from_mapping(
        int(doc["frames"]), int(doc["defects"]), int(doc["anomalies"]), doc.get("classes") or {}, verdicts
    )
    return key, counts


def _counts_of(doc: Doc | None) -> VisionCounts:
    return VisionCounts() if doc is None else vision_row(doc)[1]


class CosmosVisionCounters:
    """The vision part of ``CosmosInsightStore``: its writes' operations and its read."""

    _container: ContainerProxy

    def _read_ids(self, site: str, ids: Sequence[str]) -> dict[str, Doc]:
        raise NotImplementedError  # the store's: its documents of ``ids`` in the site's partition

    def _vision_writes(
        self, site: str, ids: Sequence[str], existing: Mapping[str, Doc], incoming: IncomingRecords
    ) -> list[Operation]:
        """The batch operations that move the site's vision counters as this write moves ``ids``
        (each insight's stored state in ``existing``, what arrives in ``incoming``)."""
        delta: dict[VisionKey, VisionCounts] = {}
        for insight_id in ids:
            before = state_of(existing.get(insight_id))
            vision_delta(vision_state(before), vision_state(incoming.after(insight_id, before)), delta)
        current = self._read_ids(site, [vision_id(key) for key in delta])
        operations: list[Operation] = []
        for key, change in delta.items():
            old_doc = current.get(vision_id(key))
            base = _counts_of(old_doc)
            if old_doc is not None and "accepted" not in old_doc:  # written before the verdicts
                base = self._with_stored_verdicts(key, base)
            operations += write_if_changed(old_doc, vision_doc(key, base + change))
        return operations

    def _with_stored_verdicts(self, key: VisionKey, counts: VisionCounts) -> VisionCounts:
        """``counts`` with the verdicts of the key's stored insights (its site's hour, one query)."""
        docs = self._container.query_items(
            "SELECT * FROM c WHERE c.doc_type = @type AND c.hour = @hour",
            parameters=[{"name": "@type", "value": INSIGHT}, {"name": "@hour", "value": key.hour}],
            partition_key=key.site_id,
        )
        found = VisionCounts()
        for doc in docs:
            found = found + vision_contribution(*vision_state(state_of(doc))).get(key, VisionCounts())
        return replace(counts, accepted=found.accepted, rejected=found.rejected, missed=found.missed)

    def vision_hours(
        self, start: datetime | None, end: datetime | None, site_id: str | None = None
    ) -> list[VisionRow]:
        first, last = hour_range(start, end)
        scope: dict[str, Any] = (
            {"enable_cross_partition_query": True} if site_id is None else {"partition_key": site_id}
        )
        docs = self._container.query_items(
            "SELECT * FROM c WHERE c.doc_type = @type AND c.hour >= @first AND c.hour < @last",
            parameters=[
                {"name": "@type", "value": VISION},
                {"name": "@first", "value": first or ""},
                {"name": "@last", "value": last or "~"},
            ],
            **scope,
        )
        return summed(vision_row(doc) for doc in docs)
