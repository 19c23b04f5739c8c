"""The per-model rollup in Cosmos DB: one ``site_model`` document per (site, model), all time.

A transactional batch holds one partition (a site's), so the rollup a batch can keep with its
counters is the site's: ``id`` ``_site_model_<digest of name, version, task>`` in the site's
partition, ``ttl`` -1 like the counters, written in the same batch as the counters it sums,
conditional on the etag read before (``write_if_changed``), so a redelivery, which changes no
counter, writes none. It answers the models table without a range (1 document per site and
model, not 1 per site, model and hour) and every site's all-time figures (``site_totals``,
``site_stats`` of every site); a range, or one site's figures, still read the counters.

A store written before this rollup has counters without it. The first write to a (site, model)
creates its document from that model's counters in the partition as read before the batch (a
concurrent writer's batch creates it too: one of the two loses the race, 409, and is retried);
``backfill_site_models`` creates the missing ones of every site at once (``edgeloop store
backfill-model-rollups``), so sites that send nothing more are counted too.
"""

from __future__ import annotations

import hashlib
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
    counter_key,
    counts_of,
    moved_rollups,
)
from edgeloop.domain.counter_stats import SiteStats
from edgeloop.domain.insights_view import CounterKey, Counts
from edgeloop.domain.model_rollup import (
    all_time_model_stats,
    all_time_site_stats,
    all_time_site_totals,
    model_of,
    model_site_delta,
)
from edgeloop.domain.model_stats import ModelKey, ModelStats

SITE_MODEL = "site_model"


def site_model_id(model: ModelKey) -> str:
    # Names and versions may hold characters an id may not ('/', '#', ...): hashed, as the counters'.
    digest = hashlib.sha256(f"{model.name}\0{model.version}\0{model.task}".encode()).hexdigest()[:24]
    return f"_site_model_{digest}"


def site_model_doc(site: str, model: ModelKey, counts: Counts) -> Doc:
    return {
        "id": site_model_id(model),
        "site_id": site,
        "doc_type": SITE_MODEL,
        "model_name": model.name,
        "model_version": model.version,
        "task": model.task,
        **count_fields(counts),
        "ttl": -1,
    }


def model_rollup_operations(
    container: ContainerProxy, site: str, delta: Mapping[CounterKey, Counts], read_ids: ReadIds
) -> list[Operation]:
    """The batch operations that move the site's per-model rollup by the counters' ``delta``."""
    changes = {model: change for (model, _), change in model_site_delta(delta).items()}
    return moved_rollups(
        site,
        changes,
        read_ids,
        site_model_id,
        lambda model, counts: site_model_doc(site, model, counts),
        lambda model: _model_from_counters(container, site, model),
    )


def _model_from_counters(container: ContainerProxy, site: str, model: ModelKey) -> Counts:
    return _counter_totals(container, site, model.name, model.version).get(model, Counts())


def _counter_totals(
    container: ContainerProxy, site: str, name: str | None = None, version: str | None = None
) -> dict[ModelKey, Counts]:
    """The site's counters summed per model (of one name and version when given; a counter from
    before tasks has no ``task``, so the task is told apart here, not in the query)."""
    conditions = ["c.doc_type = @type"]
    parameters: list[dict[str, object]] = [{"name": "@type", "value": HOURLY}]
    if name is not None and version is not None:
        conditions += ["c.model_name = @name", "c.model_version = @version"]
        parameters += [{"name": "@name", "value": name}, {"name": "@version", "value": version}]
    docs = container.query_items(
        f"SELECT * FROM c WHERE {' AND '.join(conditions)}", parameters=parameters, partition_key=site
    )
    totals: dict[ModelKey, Counts] = {}
    for doc in docs:
        model = model_of(counter_key(doc))
        totals[model] = totals.get(model, Counts()) + counts_of(doc)
    return totals


def _all_time_rows(container: ContainerProxy) -> Iterable[tuple[ModelKey, str, Counts]]:
    docs: Any = container.query_items(
        "SELECT * FROM c WHERE c.doc_type = @type",
        parameters=[{"name": "@type", "value": SITE_MODEL}],
        enable_cross_partition_query=True,
    )
    for doc in docs:
        yield (
            ModelKey(doc["model_name"], doc["model_version"], doc["task"]),
            str(doc["site_id"]),
            counts_of(doc),
        )


def all_time_model_stats_of(container: ContainerProxy) -> list[ModelStats]:
    """The models table without a range, from the ``site_model`` documents across partitions."""
    return all_time_model_stats(_all_time_rows(container))


def all_time_site_totals_of(container: ContainerProxy) -> list[SiteStats]:
    """Every site's all-time totals, from the same documents."""
    return all_time_site_totals(_all_time_rows(container))


def all_time_site_stats_of(container: ContainerProxy) -> list[SiteStats]:
    """Every site's all-time figures with its model versions, from the same documents."""
    return all_time_site_stats(_all_time_rows(container))


def backfill_site_models(container: ContainerProxy, sites: Iterable[str]) -> int:
    """Create each site's missing ``site_model`` documents from its counters; the number created
    (``cosmos_backfill``: safe beside ingest)."""

    def rollups_of(site: str) -> list[Doc]:
        return [
            site_model_doc(site, model, counts) for model, counts in _counter_totals(container, site).items()
        ]

    return create_missing(container, sites, SITE_MODEL, rollups_of)
