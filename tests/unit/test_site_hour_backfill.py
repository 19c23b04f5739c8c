"""The per-site hourly rollup's back-fill in Cosmos DB: an hour counted before the rollup, and not
written to since, has no ``site_hourly`` document (the fleet view and a ranged ``site_totals`` read
nothing for it); ``edgeloop store backfill-rollups`` creates every site's missing ones from its
counters, once, safe beside an ingest (a create that loses, 409, is re-read). On the real SDK over
the fake transport (tests/contract/cosmos_fake_transport.py: no Cosmos emulator runs here)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.cosmos import CosmosClient
from contract.cosmos_fake_transport import ENDPOINT, FAKE_KEY, FakeCosmosTransport
from contract.insight_factory import T0, insight, seed_sites, seed_tasks
from typer.testing import CliRunner

from edgeloop.adapters.cosmos_store import CosmosInsightStore
from edgeloop.cli.main import app

RANGE = (T0, T0 + timedelta(hours=6))


def _cosmos(fake: FakeCosmosTransport) -> CosmosInsightStore:
    client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=fake, retry_total=0)
    return CosmosInsightStore(client.get_database_client("edgeloop").get_container_client("insights"))


def _forget_site_hours(fake: FakeCosmosTransport) -> int:
    """Back to the documents as a store written before the per-site hourly rollup left them."""
    keys = [key for key, doc in fake.documents.items() if doc["doc_type"] == "site_hourly"]
    for key in keys:
        del fake.documents[key]
    return len(keys)


def test_the_backfill_creates_every_sites_missing_hours_once() -> None:
    fake = FakeCosmosTransport()
    store = _cosmos(fake)
    store.upsert([*seed_sites(sites=3, hours=3, per_hour=4), *seed_tasks(hours=3)])
    expected = store.site_totals(*RANGE)
    created = _forget_site_hours(fake)
    assert created == 3 * 3 + 2 * 3  # site-0..2 and seed_tasks' site-a and site-b, three hours each
    assert store.site_totals(*RANGE) == []  # the range reads the rollup only
    assert store.backfill_rollups() == (created, 0)
    assert store.site_totals(*RANGE) == expected
    assert store.backfill_rollups() == (0, 0)  # again: nothing missing


def test_a_backfill_losing_a_race_to_an_ingest_reads_again_and_counts_once() -> None:
    fake = FakeCosmosTransport()
    store = _cosmos(fake)
    store.upsert([insight("site-a", row=n, batch="0" * 32, at=T0 + timedelta(minutes=n)) for n in range(3)])
    _forget_site_hours(fake)
    # An ingest writes the hour meanwhile (creating its rollup from the counters: the 409 the
    # back-fill's batch then gets), so the back-fill reads the site again and finds nothing missing.
    racing = [insight("site-a", at=T0 + timedelta(minutes=30))]

    def ingest_first(request: object) -> None:
        fake.before_request = None
        store.upsert(racing)

    fake.before_request = lambda request: ingest_first(request) if request.is_batch else None
    assert store.backfill_rollups() == (0, 0)
    [site] = store.site_totals(*RANGE)
    assert site.counts.scored == 4


def test_the_cli_backfill_creates_both_rollups_missing_hours_and_models(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeCosmosTransport()
    store = _cosmos(fake)
    store.upsert([insight("site-a"), insight("site-b", at=T0 + timedelta(hours=1))])
    _forget_site_hours(fake)
    models = [key for key, doc in fake.documents.items() if doc["doc_type"] == "site_model"]
    del fake.documents[models[0]]
    # The settings would name a real account: the command's store is this one, on the fake transport.
    monkeypatch.setattr("edgeloop.bootstrap.cloud.build_store", lambda settings: store)
    monkeypatch.setenv("CLOUD_STORE", "sqlite")
    result = CliRunner().invoke(app, ["store", "backfill-rollups"])
    assert result.exit_code == 0, result.output
    assert "created 2 per-site hourly and 1 per-model rollup documents" in result.output
    assert [(s.site_id, s.counts.scored) for s in store.site_totals(*RANGE)] == [("site-a", 1), ("site-b", 1)]
