"""Shadow insights in the Cosmos DB global store: the part of ``CosmosInsightStore`` that keeps them.

One document per shadow insight in the site's partition: ``id`` ``_shadow_<sha256 of shadow_id>``
(an id may not hold every character a version may), ``doc_type`` ``shadow_insight``, the model's
name and a ``sort_key`` (``scored_at|shadow_id``) to read a site's newest first, and the record.
The feedback label comes from the champion insight's document (its inline ``feedback``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from azure.cosmos import ContainerProxy

from edgeloop.domain.records import format_timestamp
from edgeloop.domain.shadow_agreement import ShadowObservation
from edgeloop.domain.shadow_records import SHADOW_INSIGHT_KIND, ShadowInsightRecord, shadow_insight_from_wire

Doc = dict[str, Any]


def shadow_doc(record: ShadowInsightRecord, ttl: int | None) -> Doc:
    doc: Doc = {
        "id": f"_shadow_{hashlib.sha256(record.shadow_id.encode()).hexdigest()[:32]}",
        "site_id": record.site_id,
        "doc_type": SHADOW_INSIGHT_KIND,
        "model_name": record.model.name,
        "insight_id": record.insight_id,
        "sort_key": f"{format_timestamp(record.scored_at)}|{record.shadow_id}",
        "record": record.to_wire(),
    }
    if ttl is not None:
        doc["ttl"] = ttl
    return doc


class CosmosShadowRecords:
    """Mixed into ``CosmosInsightStore``, which provides the container, TTL and id reads."""

    _container: ContainerProxy
    _ttl: int | None

    def _read_ids(self, site: str, ids: Sequence[str]) -> dict[str, Doc]:
        raise NotImplementedError  # CosmosInsightStore's

    def _mark_site(self, site: str) -> None:
        raise NotImplementedError  # CosmosInsightStore's

    def upsert_shadow(self, records: Sequence[ShadowInsightRecord]) -> None:
        for record in records:  # an upsert of the same content: redelivery writes nothing new
            self._mark_site(record.site_id)
            self._container.upsert_item(shadow_doc(record, self._ttl))

    def shadow_observations(self, model_name: str, site_id: str, limit: int) -> list[ShadowObservation]:
        docs = list(
            self._container.query_items(
                "SELECT * FROM c WHERE c.doc_type = @type AND c.model_name = @model "
                "ORDER BY c.sort_key DESC OFFSET 0 LIMIT @limit",
                parameters=[
                    {"name": "@type", "value": SHADOW_INSIGHT_KIND},
                    {"name": "@model", "value": model_name},
                    {"name": "@limit", "value": limit},
                ],
                partition_key=site_id,
            )
        )
        records = [shadow_insight_from_wire(doc["record"]) for doc in docs]
        champions = self._read_ids(site_id, sorted({record.insight_id for record in records}))
        labels = {key: (doc.get("feedback") or {}).get("label") for key, doc in champions.items()}
        return [ShadowObservation(record, labels.get(record.insight_id)) for record in records]
