"""The Cosmos DB store's reads of site statuses: each site's latest, and one site's history.

A mixin of :class:`edgeloop.adapters.cosmos_store.CosmosInsightStore` (it reads
``self._container``); the latest statuses are the one small cross-partition query, the
history one site's partition.
"""

from __future__ import annotations

from datetime import datetime

from azure.cosmos import ContainerProxy

from edgeloop.adapters.cosmos_documents import LATEST_STATUS, STATUS, status_of
from edgeloop.domain.fleet import fleet_status
from edgeloop.domain.records import format_timestamp
from edgeloop.domain.site_status import SiteStatusRecord


class CosmosSiteStatusReads:
    _container: ContainerProxy

    def latest_site_statuses(self) -> list[SiteStatusRecord]:
        docs = self._container.query_items(
            "SELECT * FROM c WHERE c.doc_type = @type",
            parameters=[{"name": "@type", "value": LATEST_STATUS}],
            enable_cross_partition_query=True,
        )
        return sorted((status_of(doc) for doc in docs), key=lambda status: status.site_id)

    def latest_fleet_statuses(self) -> list[SiteStatusRecord]:
        return [fleet_status(status) for status in self.latest_site_statuses()]  # the documents as they are

    def site_status_history(
        self, site_id: str, start: datetime | None, end: datetime | None, limit: int
    ) -> list[SiteStatusRecord]:
        docs = self._container.query_items(
            "SELECT * FROM c WHERE c.doc_type = @type AND c.reported_at >= @start AND c.reported_at < @end "
            "ORDER BY c.sort_key DESC OFFSET 0 LIMIT @limit",
            parameters=[
                {"name": "@type", "value": STATUS},
                {"name": "@start", "value": format_timestamp(start) if start else ""},
                {"name": "@end", "value": format_timestamp(end) if end else "~"},
                {"name": "@limit", "value": limit},
            ],
            partition_key=site_id,
        )
        return [status_of(doc) for doc in reversed(list(docs))]
