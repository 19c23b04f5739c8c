"""The per-site hourly rollup in Cosmos DB: one ``site_hourly`` document per (site, hour).

``id`` ``_site_hourly_<hour>`` in the site's partition, ``ttl`` -1 like the counters. The store
writes it in the same transactional batch as the counters it sums, conditional on the etag read
before (``write_if_changed``), so a redelivery, which changes no counter, writes none. A store
written before rollups has counters without them: the first write to such an hour creates its
rollup from that hour's counters as read before the batch (a concurrent writer's batch creates
it too, and one of the two loses the race, 409, and is retried); ``backfill_site_hours`` creates
the missing ones of every site at once (``edgeloop store backfill-rollups``), so an hour never
written since is counted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from azure.cosmos import ContainerProxy

from edgeloop.adapters.cosmos_backfill import create_missing
from edgeloop.adapters.cosmos_documents import (
    HOURLY,
    Doc,
    Operation,
    ReadIds,
    count_fields,
    counts_of,
    moved_rollups,
)
from edgeloop.domain.counter_stats import SiteStats
from edgeloop.domain.insights_view import CounterKey, Counts
from edgeloop.domain.site_rollup import rollup_delta, site_totals_of

SITE_HOURLY = "site_hourly"


def rollup_id(hour: str) -> str:
    return f"_site_hourly_{hour}"


def rollup_doc(site: str, hour: str, counts: Counts) -> Doc:
    return {
        "id": rollup_id(hour),
        "site_id": site,
        "doc_type": SITE_HOURLY,
        "hour": hour,
        **count_fields(counts),
        "ttl": -1,
    }


def rollup_operations(
    container: ContainerProxy, site: str, delta: Mapping[CounterKey, Counts], read_ids: ReadIds
) -> list[Operation]:
    """The batch operations that move the site's rollup by the counters' ``delta``."""
    changes = {hour: change for (_, hour), change in rollup_delta(delta).items()}
    return moved_rollups(
        site,
        changes,
        read_ids,
        rollup_id,
        lambda hour, counts: rollup_doc(site, hour, counts),
        lambda hour: _hour_from_counters(container, site, hour),
    )


def _hour_from_counters(container: ContainerProxy, site: str, hour: str) -> Counts:
    return _hours_from_counters(container, site, hour).get(hour, Counts())


def _hours_from_counters(container: ContainerProxy, site: str, hour: str | None = None) -> dict[str, Counts]:
    """The site's counters summed per hour (of one hour when given)."""
    conditions = "c.doc_type = @type"
    parameters: list[dict[str, object]] = [{"name": "@type", "value": HOURLY}]
    if hour is not None:
        conditions += " AND c.hour = @hour"
        parameters.append({"name": "@hour", "value": hour})
    totals: dict[str, Counts] = {}
    for doc in container.query_items(
        f"SELECT * FROM c WHERE {conditions}", parameters=parameters, partition_key=site
    ):
        totals[doc["hour"]] = totals.get(doc["hour"], Counts()) + counts_of(doc)
    return totals


def backfill_site_hours(container: ContainerProxy, sites: Iterable[str]) -> int:
    """Create each site's missing ``site_hourly`` documents from its counters; the number created
    (``cosmos_backfill``: safe beside ingest)."""

    def rollups_of(site: str) -> list[Doc]:
        return [
            rollup_doc(site, hour, counts) for hour, counts in _hours_from_counters(container, site).items()
        ]

    return create_missing(container, sites, SITE_HOURLY, rollups_of)


def site_totals_of_rollups(container: ContainerProxy, first: str | None, last: str | None) -> list[SiteStats]:
    """Per-site totals of the rollup documents in [first, last) (hour buckets), across partitions."""
    docs: Any = container.query_items(
        "SELECT * FROM c WHERE c.doc_type = @type AND c.hour >= @first AND c.hour < @last",
        parameters=[
            {"name": "@type", "value": SITE_HOURLY},
            {"name": "@first", "value": first or ""},
            {"name": "@last", "value": last or "~"},
        ],
        enable_cross_partition_query=True,
    )
    return site_totals_of((str(doc["site_id"]), counts_of(doc)) for doc in docs)
