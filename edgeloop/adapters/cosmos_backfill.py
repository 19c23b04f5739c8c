"""Creating a site's missing rollup documents from its counters (``edgeloop store backfill-rollups``).

A rollup kept with the counters (``cosmos_rollup``'s per-site hours, ``cosmos_model_rollup``'s per
site and model) is created at a write to what it sums; one never written to since the rollup
exists stays missing. :func:`create_missing` creates them: per site, it reads what the site's
counters give and the ids of the rollups it has, and creates the missing documents, 100 to a
transactional batch. Safe beside ingest: a document is only created (never replaced); if an ingest
created one meanwhile (from the counters and its change), the batch answers 409, writes nothing,
and the site is read again (at most :data:`ATTEMPTS` times, then the 409 is raised).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from azure.cosmos import ContainerProxy
from azure.cosmos.exceptions import CosmosBatchOperationError

from edgeloop.adapters.cosmos_documents import Doc, Operation

ATTEMPTS = 5
BATCH_LIMIT = 100  # operations in one Cosmos DB transactional batch
RollupsOf = Callable[[str], list[Doc]]  # a site -> every rollup document its counters give


def create_missing(
    container: ContainerProxy, sites: Iterable[str], doc_type: str, rollups_of: RollupsOf
) -> int:
    """Create each site's missing ``doc_type`` documents of ``rollups_of(site)``; the number created."""
    created = 0
    for site in sites:
        for attempt in range(1, ATTEMPTS + 1):
            existing = ids_in(container, site, doc_type)
            missing = [doc for doc in rollups_of(site) if doc["id"] not in existing]
            try:
                for start in range(0, len(missing), BATCH_LIMIT):
                    batch: list[Operation] = [
                        ("create", (doc,), {}) for doc in missing[start : start + BATCH_LIMIT]
                    ]
                    container.execute_item_batch(batch, partition_key=site)
                    created += len(batch)
                break
            except CosmosBatchOperationError as exc:
                if exc.status_code != 409 or attempt == ATTEMPTS:
                    raise
    return created


def ids_in(container: ContainerProxy, site: str, doc_type: str) -> set[str]:
    found = container.query_items(
        "SELECT VALUE c.id FROM c WHERE c.doc_type = @type",
        parameters=[{"name": "@type", "value": doc_type}],
        partition_key=site,
    )
    return {str(doc_id) for doc_id in found}
