"""The Cosmos DB adapter's site-status requests: which partition each read targets, and races.

The real azure-cosmos SDK over ``FakeCosmosTransport`` (no emulator can run here; see
tests/contract/cosmos_fake_transport.py).
"""

from __future__ import annotations

from datetime import timedelta

from azure.cosmos import CosmosClient
from contract.cosmos_fake_transport import ENDPOINT, FAKE_KEY, FakeCosmosTransport, SentRequest
from contract.insight_factory import T0

from edgeloop.adapters.cosmos_store import CosmosInsightStore
from edgeloop.domain.site_status import SiteStatusRecord


def _store(fake: FakeCosmosTransport) -> CosmosInsightStore:
    client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=fake, retry_total=3, retry_backoff_max=5)
    return CosmosInsightStore(client.get_database_client("edgeloop").get_container_client("insights"))


def beat(number: int, site: str = "site-a") -> SiteStatusRecord:
    return SiteStatusRecord(f"s{number:031d}", site, T0 + timedelta(seconds=30 * number))


def _is_latest_replace(request: SentRequest) -> bool:
    return request.method == "PUT" and request.path.endswith("/_status_latest")


def test_a_sites_history_and_figures_are_read_from_its_partition_only() -> None:
    fake = FakeCosmosTransport()
    store = _store(fake)
    store.upsert_site_status([beat(1), beat(2, "site-b")])
    fake.requests.clear()
    store.site_status_history("site-a", None, None, 10)
    store.site_stats(None, None, "site-a")
    store.hourly_rates(None, None, "site-a")
    queries = [r for r in fake.requests if r.is_query]
    assert len(queries) == 3
    assert all(query.partition_key == ["site-a"] for query in queries)


def test_a_latest_replaced_meanwhile_is_read_again_and_the_newest_kept() -> None:
    fake = FakeCosmosTransport()
    store = _store(fake)
    store.upsert_site_status([beat(1)])
    fake.fail_next(_is_latest_replace, 412)  # another ingest moved the etag first
    store.upsert_site_status([beat(3)])
    assert [status.status_id for status in store.latest_site_statuses()] == [beat(3).status_id]
    store.upsert_site_status([beat(2)])  # older, late: read, compared, nothing written
    assert [status.status_id for status in store.latest_site_statuses()] == [beat(3).status_id]
    assert sum(1 for r in fake.requests if _is_latest_replace(r)) == 2  # the failed try and its retry
