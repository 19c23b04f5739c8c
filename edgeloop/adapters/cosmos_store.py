"""The global insight store in Azure Cosmos DB (NoSQL API), partitioned by ``/site_id``.

Documents in a site's partition:

* an insight: ``id`` = ``insight_id``, with its winning ``feedback`` inline (the join);
  ``sort_key`` = ``scored_at|insight_id`` orders and pages it with one indexed field;
* pending feedback: same ``id``, ``doc_type`` ``pending_feedback``, until its insight arrives;
* hourly counters per (hour, model), written in the *same transactional batch* as
  the insights they count, conditional on the etags read before, so counts and
  documents never disagree; a redelivered record changes nothing and writes nothing;
* one ``site`` marker (plain upsert), so the app lists sites without a cross-partition DISTINCT.

Writes go per partition as ``execute_item_batch`` (atomic, at most 100 operations);
a batch that loses a race (409 created meanwhile, 412 etag moved) is re-read and
retried a bounded number of times. Throttling (429) is retried by the SDK, which
honours ``x-ms-retry-after-ms`` (``retry_total`` / ``retry_backoff_max`` on the
client, see ``cloud_bootstrap``); when it gives up the error propagates, so the
triggering event is redelivered and nothing is lost. Partitions are written
concurrently with a bounded thread pool. Every query targets one partition,
except the two small ones over ``site`` markers and hourly counters.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from azure.cosmos import ContainerProxy
from azure.cosmos.exceptions import CosmosBatchOperationError, CosmosResourceNotFoundError

from edgeloop.domain.insights_view import (
    CounterKey,
    Counts,
    HourlyRate,
    InsightCursor,
    InsightPage,
    InsightQuery,
    SiteStats,
    StoredFeedback,
    StoredInsight,
    counter_delta,
    hour_bucket,
    hour_range,
    hourly_rates,
    latest_feedback,
    site_stats,
)
from edgeloop.domain.records import (
    FeedbackRecord,
    InsightRecord,
    Record,
    format_timestamp,
    insight_from_wire,
    parse_timestamp,
)

log = logging.getLogger(__name__)

INSIGHT, PENDING, HOURLY, SITE = "insight", "pending_feedback", "hourly", "site"
SITE_DOC_ID = "_site"
IDS_PER_BATCH = 32  # + at most 2 counters each stays under a batch's 100-operation limit
RACE_STATUSES = frozenset({409, 412})

Doc = dict[str, Any]
State = tuple[InsightRecord | None, StoredFeedback | None]


class CosmosInsightStore:
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
        insights: dict[str, dict[str, InsightRecord]] = {}
        feedback: dict[str, dict[str, StoredFeedback | None]] = {}
        for record in records:
            if isinstance(record, InsightRecord):
                insights.setdefault(record.site_id, {})[record.insight_id] = record
            elif isinstance(record, FeedbackRecord):
                pending = feedback.setdefault(record.site_id, {})
                pending[record.insight_id] = latest_feedback(
                    pending.get(record.insight_id), StoredFeedback.of(record)
                )
        sites = sorted(set(insights) | set(feedback))
        if len(sites) <= 1 or self._max_concurrency <= 1:
            for site in sites:
                self._upsert_partition(site, insights.get(site, {}), feedback.get(site, {}))
            return
        with ThreadPoolExecutor(max_workers=min(len(sites), self._max_concurrency)) as pool:
            futures = [
                pool.submit(self._upsert_partition, site, insights.get(site, {}), feedback.get(site, {}))
                for site in sites
            ]
            for future in futures:
                future.result()  # re-raises the first failure; the others still finish

    def _upsert_partition(
        self,
        site: str,
        insights: Mapping[str, InsightRecord],
        feedback: Mapping[str, StoredFeedback | None],
    ) -> None:
        ids = sorted(set(insights) | set(feedback))
        for start in range(0, len(ids), IDS_PER_BATCH):
            chunk = ids[start : start + IDS_PER_BATCH]
            for attempt in range(1, self._race_retries + 1):
                try:
                    self._write_chunk(site, chunk, insights, feedback)
                    break
                except CosmosBatchOperationError as exc:
                    if exc.status_code not in RACE_STATUSES or attempt == self._race_retries:
                        raise
                    log.info("batch for site %s lost a race (%s); re-reading", site, exc.status_code)

    def _write_chunk(
        self,
        site: str,
        ids: Sequence[str],
        insights: Mapping[str, InsightRecord],
        feedback: Mapping[str, StoredFeedback | None],
    ) -> None:
        existing = self._read_ids(site, ids)
        operations: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        delta: dict[CounterKey, Counts] = {}
        for insight_id in ids:
            old_doc = existing.get(insight_id)
            old_insight, old_feedback = _state(old_doc)
            new_state = (
                insights.get(insight_id, old_insight),
                latest_feedback(old_feedback, feedback.get(insight_id)),
            )
            counter_delta((old_insight, old_feedback), new_state, delta)
            new_doc = self._item_doc(site, insight_id, new_state)
            operations += _write_if_changed(old_doc, new_doc)
        counters = self._read_ids(site, [_counter_id(key) for key in delta])
        for key, change in delta.items():
            old_doc = counters.get(_counter_id(key))
            operations += _write_if_changed(old_doc, _counter_doc(key, _counts(old_doc) + change))
        if not operations:
            return  # a redelivery: everything is already there
        self._mark_site(site)
        self._container.execute_item_batch(operations, partition_key=site)

    def _mark_site(self, site: str) -> None:
        """The site marker, upserted once per site and process (idempotent, so no batch needed)."""
        if site not in self._known_sites:
            marker = {"id": SITE_DOC_ID, "site_id": site, "doc_type": SITE, "ttl": -1}
            self._container.upsert_item(marker)
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

    def _item_doc(self, site: str, insight_id: str, state: State) -> Doc:
        insight, feedback = state
        doc: Doc = {"id": insight_id, "site_id": site, "feedback": _feedback_doc(feedback)}
        if insight is None:
            doc["doc_type"] = PENDING
        else:
            scored_at = format_timestamp(insight.scored_at)
            doc |= {
                "doc_type": INSIGHT,
                "scored_at": scored_at,
                "sort_key": f"{scored_at}|{insight_id}",
                "hour": hour_bucket(insight.scored_at),
                "anomaly": insight.anomaly,
                "record": insight.to_wire(),
            }
        if self._ttl is not None:
            doc["ttl"] = self._ttl
        return doc

    # -- reads ----------------------------------------------------------------

    def get(self, site_id: str, insight_id: str) -> StoredInsight | None:
        try:
            doc = self._container.read_item(insight_id, partition_key=site_id)
        except CosmosResourceNotFoundError:
            return None
        return _stored(doc) if doc.get("doc_type") == INSIGHT else None

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
            after = f"{format_timestamp(query.after.scored_at)}|{query.after.insight_id}"
            params.append({"name": "@after", "value": after})
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
        items = tuple(_stored(doc) for doc in merged[: query.limit])
        if len(merged) <= query.limit or not items:
            return InsightPage(items, None)
        last = items[-1].record
        return InsightPage(items, InsightCursor(last.scored_at, last.insight_id))

    def _counter_rows(self, start: datetime | None, end: datetime | None) -> list[tuple[CounterKey, Counts]]:
        first, last = hour_range(start, end)
        docs = self._container.query_items(
            "SELECT * FROM c WHERE c.doc_type = @type AND c.hour >= @first AND c.hour < @last",
            parameters=[
                {"name": "@type", "value": HOURLY},
                {"name": "@first", "value": first or ""},
                {"name": "@last", "value": last or "~"},
            ],
            enable_cross_partition_query=True,
        )
        return [(_counter_key(doc), _counts(doc)) for doc in docs]

    def site_stats(self, start: datetime | None, end: datetime | None) -> list[SiteStats]:
        return site_stats(self._counter_rows(start, end))

    def hourly_rates(self, start: datetime | None, end: datetime | None) -> list[HourlyRate]:
        return hourly_rates(self._counter_rows(start, end))


def _write_if_changed(old: Doc | None, new: Doc) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    if old is None:
        return [("create", (new,), {})]
    if _content(old) == new:
        return []
    return [("replace", (new["id"], new), {"if_match_etag": old["_etag"]})]


def _content(doc: Doc) -> Doc:
    """The document without the service's system properties (``_etag``, ``_ts``, ...)."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _feedback_doc(feedback: StoredFeedback | None) -> Doc | None:
    if feedback is None:
        return None
    return {
        "feedback_id": feedback.feedback_id,
        "label": feedback.label,
        "recorded_at": format_timestamp(feedback.recorded_at),
    }


def _state(doc: Doc | None) -> State:
    if doc is None:
        return None, None
    raw = doc.get("feedback")
    feedback = (
        StoredFeedback(
            raw["feedback_id"], int(raw["label"]), parse_timestamp(raw["recorded_at"], "recorded_at")
        )
        if raw
        else None
    )
    insight = insight_from_wire(doc["record"]) if doc.get("doc_type") == INSIGHT else None
    return insight, feedback


def _stored(doc: Doc) -> StoredInsight:
    insight, feedback = _state(doc)
    assert insight is not None  # callers pass insight documents only
    return StoredInsight(insight, feedback)


def _counter_id(key: CounterKey) -> str:
    # Model names and versions may hold characters an id may not ('/', '#', ...): hash them.
    digest = hashlib.sha256(f"{key.model_name}\0{key.model_version}".encode()).hexdigest()[:24]
    return f"_hourly_{key.hour}_{digest}"


def _counter_doc(key: CounterKey, counts: Counts) -> Doc:
    return {
        "id": _counter_id(key),
        "site_id": key.site_id,
        "doc_type": HOURLY,
        "hour": key.hour,
        "model_name": key.model_name,
        "model_version": key.model_version,
        "scored": counts.scored,
        "anomalies": counts.anomalies,
        "feedback": counts.feedback,
        "feedback_correct": counts.feedback_correct,
        "ttl": -1,  # counters outlive the insights' TTL: the dashboard's history
    }


def _counter_key(doc: Doc) -> CounterKey:
    return CounterKey(doc["site_id"], doc["hour"], doc["model_name"], doc["model_version"])


def _counts(doc: Doc | None) -> Counts:
    if doc is None:
        return Counts()
    return Counts(
        int(doc["scored"]), int(doc["anomalies"]), int(doc["feedback"]), int(doc["feedback_correct"])
    )
