"""The global insight store in Azure Cosmos DB (NoSQL API), partitioned by ``/site_id``.

Documents (``cosmos_documents``): one per insight, its winning feedback inline; pending feedback
until its insight arrives; hourly counters per (hour, model, task), their per-site rollup
(``cosmos_rollup``), their per-model rollup (``cosmos_model_rollup``) and vision counters per
(camera, hour, model) (``cosmos_vision``), written in the *same transactional batch* as the
insights they count, conditional on the etags read before, so counts and documents never
disagree (a redelivery changes nothing); one ``site`` marker per site.

Writes go per partition as ``execute_item_batch`` (atomic, at most 100 operations);
a batch that loses a race (409 created meanwhile, 412 etag moved) is re-read and
retried a bounded number of times. Throttling (429) is retried by the SDK, which
honours ``x-ms-retry-after-ms`` (``retry_total`` / ``retry_backoff_max`` on the
client, see ``cloud_bootstrap``); when it gives up the error propagates, so the
triggering event is redelivered and nothing is lost. Partitions are written
concurrently with a bounded thread pool. Every query targets one partition,
except the small ones over ``site`` markers, hourly counters, rollups and each site's latest status.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.cosmos import ContainerProxy
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosBatchOperationError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)

from edgeloop.adapters.cosmos_documents import (
    HOURLY,
    INSIGHT,
    LATEST_STATUS_ID,
    SITE,
    Doc,
    Operation,
    counter_doc,
    counter_id,
    counter_key,
    counts_of,
    item_doc,
    site_marker,
    sort_key,
    state_of,
    status_doc,
    status_of,
    stored_insight,
    write_if_changed,
)
from edgeloop.adapters.cosmos_model_rollup import (
    all_time_model_stats_of,
    all_time_site_stats_of,
    all_time_site_totals_of,
    backfill_site_models,
    model_rollup_operations,
)
from edgeloop.adapters.cosmos_rollup import backfill_site_hours, rollup_operations, site_totals_of_rollups
from edgeloop.adapters.cosmos_shadow import CosmosShadowRecords
from edgeloop.adapters.cosmos_site_status import CosmosSiteStatusReads
from edgeloop.adapters.cosmos_vision import MAX_OPERATIONS, CosmosVisionCounters
from edgeloop.domain.counter_stats import HourlyRate, SiteStats, hourly_rates, site_stats
from edgeloop.domain.insights_view import (
    CounterKey,
    Counts,
    IncomingRecords,
    InsightPage,
    InsightQuery,
    StoredInsight,
    hour_range,
)
from edgeloop.domain.model_stats import ModelHour, ModelStats, model_hours, model_stats
from edgeloop.domain.records import Record, format_timestamp
from edgeloop.domain.site_status import SiteStatusRecord

log = logging.getLogger(__name__)

IDS_PER_BATCH = 20  # + at most 2 counters, site and model rollups each (over MAX_OPERATIONS: halved)
RACE_STATUSES = frozenset({409, 412})


class CosmosInsightStore(CosmosVisionCounters, CosmosSiteStatusReads, CosmosShadowRecords):
    def __init__(
        self,
        container: ContainerProxy,
        *,
        ttl_seconds: int | None = None,
        max_concurrency: int = 4,
        race_retries: int = 5,
    ) -> None:
        self._container = container
        self._ttl = ttl_seconds
        self._max_concurrency = max_concurrency
        self._race_retries = race_retries
        self._known_sites: set[str] = set()

    # -- writes ---------------------------------------------------------------

    def upsert(self, records: Sequence[Record]) -> None:
        by_site: dict[str, list[Record]] = {}
        for record in records:
            by_site.setdefault(record.site_id, []).append(record)
        incoming = {site: IncomingRecords.of(group) for site, group in by_site.items()}
        sites = sorted(incoming)
        if len(sites) <= 1 or self._max_concurrency <= 1:
            for site in sites:
                self._upsert_partition(site, incoming[site])
            return
        with ThreadPoolExecutor(max_workers=min(len(sites), self._max_concurrency)) as pool:
            futures = [pool.submit(self._upsert_partition, site, incoming[site]) for site in sites]
            for future in futures:
                future.result()  # re-raises the first failure; the others still finish

    def _upsert_partition(self, site: str, incoming: IncomingRecords) -> None:
        ids = incoming.insight_ids
        for start in range(0, len(ids), IDS_PER_BATCH):
            chunk = ids[start : start + IDS_PER_BATCH]
            for attempt in range(1, self._race_retries + 1):
                try:
                    self._write_chunk(site, chunk, incoming)
                    break
                except CosmosBatchOperationError as exc:
                    if exc.status_code not in RACE_STATUSES or attempt == self._race_retries:
                        raise
                    log.info("batch for site %s lost a race (%s); re-reading", site, exc.status_code)

    def _write_chunk(self, site: str, ids: Sequence[str], incoming: IncomingRecords) -> None:
        existing = self._read_ids(site, ids)
        operations: list[Operation] = []
        delta: dict[CounterKey, Counts] = {}
        for insight_id in ids:
            old_doc = existing.get(insight_id)
            new_state = incoming.apply(insight_id, state_of(old_doc), delta)
            operations += write_if_changed(old_doc, item_doc(site, insight_id, new_state, self._ttl))
        counters = self._read_ids(site, [counter_id(key) for key in delta])
        for key, change in delta.items():
            old_doc = counters.get(counter_id(key))
            operations += write_if_changed(old_doc, counter_doc(key, counts_of(old_doc) + change))
        operations += rollup_operations(self._container, site, delta, self._read_ids)
        operations += model_rollup_operations(self._container, site, delta, self._read_ids)
        operations += self._vision_writes(site, ids, existing, incoming)
        if len(operations) > MAX_OPERATIONS and len(ids) > 1:  # image insights' vision counters: halve it
            for part in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
                self._write_chunk(site, part, incoming)
            return
        if not operations:
            return  # a redelivery: everything is already there
        self._mark_site(site)
        self._container.execute_item_batch(operations, partition_key=site)

    def upsert_site_status(self, statuses: Sequence[SiteStatusRecord]) -> None:
        """The history document (same content on redelivery), then the latest if this one is newer:
        replaced only if its etag still holds, so two ingests racing keep the newest."""
        for status in statuses:
            self._mark_site(status.site_id)
            self._container.upsert_item(status_doc(status, self._ttl))
            for attempt in range(1, self._race_retries + 1):
                try:
                    self._replace_latest(status)
                    break
                except (CosmosResourceExistsError, CosmosAccessConditionFailedError):
                    if attempt == self._race_retries:
                        raise

    def _replace_latest(self, status: SiteStatusRecord) -> None:
        try:
            current = self._container.read_item(LATEST_STATUS_ID, partition_key=status.site_id)
        except CosmosResourceNotFoundError:
            self._container.create_item(status_doc(status, self._ttl, latest=True))
            return
        if status.newer_than(status_of(current)):
            self._container.replace_item(
                LATEST_STATUS_ID,
                status_doc(status, self._ttl, latest=True),
                etag=current["_etag"],
                match_condition=MatchConditions.IfNotModified,
            )

    def _mark_site(self, site: str) -> None:
        """The site marker, upserted once per site and process (idempotent, so no batch needed)."""
        if site not in self._known_sites:
            self._container.upsert_item(site_marker(site))
            self._known_sites.add(site)

    def _read_ids(self, site: str, ids: Sequence[str]) -> dict[str, Doc]:
        if not ids:
            return {}
        docs = self._container.query_items(
            "SELECT * FROM c WHERE ARRAY_CONTAINS(@ids, c.id)",
            parameters=[{"name": "@ids", "value": list(ids)}],
            partition_key=site,
        )
        return {doc["id"]: doc for doc in docs}

    # -- reads ----------------------------------------------------------------

    def get(self, site_id: str, insight_id: str) -> StoredInsight | None:
        try:
            doc = self._container.read_item(insight_id, partition_key=site_id)
        except CosmosResourceNotFoundError:
            return None
        return stored_insight(doc) if doc.get("doc_type") == INSIGHT else None

    def sites(self) -> list[str]:
        found = self._container.query_items(
            "SELECT VALUE c.site_id FROM c WHERE c.doc_type = @type",
            parameters=[{"name": "@type", "value": SITE}],
            enable_cross_partition_query=True,
        )
        return sorted({str(site) for site in found})

    def query(self, query: InsightQuery) -> InsightPage:
        sites = [query.site_id] if query.site_id is not None else self.sites()
        conditions = ["c.doc_type = @type"]
        params: list[dict[str, Any]] = [{"name": "@type", "value": INSIGHT}]
        if query.anomalies_only:
            conditions.append("c.anomaly = true")
        if query.start is not None:
            conditions.append("c.scored_at >= @start")
            params.append({"name": "@start", "value": format_timestamp(query.start)})
        if query.end is not None:
            conditions.append("c.scored_at < @end")
            params.append({"name": "@end", "value": format_timestamp(query.end)})
        if query.after is not None:
            conditions.append("c.sort_key < @after")
            params.append(
                {"name": "@after", "value": sort_key(query.after.scored_at, query.after.insight_id)}
            )
        params.append({"name": "@limit", "value": query.limit + 1})
        sql = (
            f"SELECT * FROM c WHERE {' AND '.join(conditions)} ORDER BY c.sort_key DESC OFFSET 0 LIMIT @limit"
        )
        per_site = [
            list(self._container.query_items(sql, parameters=params, partition_key=site)) for site in sites
        ]
        # Each site's list is newest first; merge them and keep the page (+1 to know if more).
        merged = list(heapq.merge(*per_site, key=lambda doc: doc["sort_key"], reverse=True))[
            : query.limit + 1
        ]
        items = tuple(stored_insight(doc) for doc in merged[: query.limit])
        return InsightPage.of(items, more=len(merged) > query.limit)

    def _counter_rows(
        self, start: datetime | None, end: datetime | None, site_id: str | None = None
    ) -> list[tuple[CounterKey, Counts]]:
        """``site_id``: that site's partition only; else across partitions."""
        first, last = hour_range(start, end)
        scope: dict[str, Any] = (
            {"enable_cross_partition_query": True} if site_id is None else {"partition_key": site_id}
        )
        docs = self._container.query_items(
            "SELECT * FROM c WHERE c.doc_type = @type AND c.hour >= @first AND c.hour < @last",
            parameters=[
                {"name": "@type", "value": HOURLY},
                {"name": "@first", "value": first or ""},
                {"name": "@last", "value": last or "~"},
            ],
            **scope,
        )
        return [(counter_key(doc), counts_of(doc)) for doc in docs]

    def site_stats(
        self, start: datetime | None, end: datetime | None, site_id: str | None = None
    ) -> list[SiteStats]:
        if site_id is None and start is None and end is None:  # all time: a document per site and model
            return all_time_site_stats_of(self._container)
        return site_stats(self._counter_rows(start, end, site_id))

    def site_totals(self, start: datetime | None, end: datetime | None) -> list[SiteStats]:
        first, last = hour_range(start, end)
        if first is None and last is None:  # all time: one document per site and model
            return all_time_site_totals_of(self._container)
        return site_totals_of_rollups(self._container, first, last)

    def hourly_rates(
        self, start: datetime | None, end: datetime | None, site_id: str | None = None
    ) -> list[HourlyRate]:
        return hourly_rates(self._counter_rows(start, end, site_id))

    def model_stats(self, start: datetime | None, end: datetime | None) -> list[ModelStats]:
        if start is None and end is None:  # all time: one document per site and model
            return all_time_model_stats_of(self._container)
        return model_stats(self._counter_rows(start, end))

    def backfill_rollups(self) -> tuple[int, int]:
        """Create every site's missing rollup documents from its counters (a store written before
        them): the numbers of per-site hourly and of per-model documents created."""
        sites = self.sites()
        return backfill_site_hours(self._container, sites), backfill_site_models(self._container, sites)

    def model_hours(self, start: datetime | None, end: datetime | None) -> list[ModelHour]:
        return model_hours(self._counter_rows(start, end))
