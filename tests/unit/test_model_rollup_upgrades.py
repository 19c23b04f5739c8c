"""Global stores written before the per-model rollups carry on: a SQLite file is upgraded on open
(both rollups summed from the counters); in Cosmos DB a (site, model) counted before them gets its
document from its counters at its next write, and ``edgeloop store backfill-rollups``
creates the missing ones of every site (safe beside an ingest: a create that loses, 409, is
re-read)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient
from contract.cosmos_fake_transport import ENDPOINT, FAKE_KEY, FakeCosmosTransport
from contract.insight_factory import T0, feedback, insight, seed_sites, seed_tasks
from typer.testing import CliRunner

from edgeloop.adapters.cosmos_store import CosmosInsightStore
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.cli.main import app
from edgeloop.ports import InsightStore

RANGES = [(None, None), (T0 + timedelta(hours=1), None), (T0, T0 + timedelta(hours=2))]


def _answers(store: InsightStore) -> list[object]:
    return [
        (store.model_stats(*bounds), store.model_hours(*bounds), store.site_totals(*bounds))
        for bounds in RANGES
    ]


def _cosmos(fake: FakeCosmosTransport) -> CosmosInsightStore:
    client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=fake, retry_total=0)
    return CosmosInsightStore(client.get_database_client("edgeloop").get_container_client("insights"))


def _forget_site_models(fake: FakeCosmosTransport) -> int:
    """Back to the documents as a store written before the per-model rollup left them."""
    keys = [key for key, doc in fake.documents.items() if doc["doc_type"] == "site_model"]
    for key in keys:
        del fake.documents[key]
    return len(keys)


def test_a_sqlite_file_from_before_the_model_rollups_is_upgraded_on_open(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    store = SqliteInsightStore(path)
    store.upsert([*seed_sites(sites=3, hours=3, per_hour=4), *seed_tasks(hours=3)])
    expected = _answers(store)
    store.close()
    with sqlite3.connect(path) as conn:
        conn.executescript("DROP TABLE model_hourly_counts; DROP TABLE model_site_counts;")
    conn.close()

    upgraded = SqliteInsightStore(path)
    assert _answers(upgraded) == expected
    upgraded.upsert([insight("site-0", at=T0 + timedelta(hours=1), version="1.0.0")])  # kept from then on
    [model] = [
        m
        for m in upgraded.model_stats(None, None)
        if (m.model.name, m.model.version) == ("failure-risk", "1.0.0")
    ]
    upgraded.close()
    again = SqliteInsightStore(path)  # opening an upgraded file again changes nothing
    assert [m for m in again.model_stats(None, None) if m.model == model.model] == [model]
    again.close()


def test_a_sqlite_rollup_of_another_shape_is_summed_again_on_open(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    store = SqliteInsightStore(path)
    store.upsert([*seed_sites(sites=3, hours=3, per_hour=4), *seed_tasks(hours=3)])
    expected = _answers(store)
    store.close()
    with sqlite3.connect(path) as conn:  # as the first version of the rollup was: no span of hours
        conn.executescript(
            "ALTER TABLE model_site_counts DROP COLUMN first_hour; "
            "ALTER TABLE model_site_counts DROP COLUMN last_hour; UPDATE model_site_counts SET scored = 0;"
        )
    conn.close()
    again = SqliteInsightStore(path)
    assert _answers(again) == expected
    again.close()


def test_a_cosmos_model_counted_before_the_rollup_gets_it_from_its_counters_at_its_next_write() -> None:
    fake = FakeCosmosTransport()
    store = _cosmos(fake)
    first = insight("site-a", anomaly=True)
    store.upsert([first, feedback(first, 1), insight("site-b")])
    assert _forget_site_models(fake) == 2
    assert store.model_stats(None, None) == []  # all time reads the rollup only
    store.upsert([insight("site-a", at=T0 + timedelta(hours=1))])
    [model] = store.model_stats(None, None)
    assert (model.counts.scored, model.counts.anomalies, model.counts.feedback, model.sites) == (
        2,
        1,
        1,
        ("site-a",),
    )
    [ranged] = store.model_stats(T0, None)  # a range reads the counters: every site
    assert ranged.sites == ("site-a", "site-b")


def test_the_backfill_creates_every_sites_missing_rollups_once(tmp_path: Path) -> None:
    fake = FakeCosmosTransport()
    store = _cosmos(fake)
    store.upsert([*seed_sites(sites=3, hours=3, per_hour=4), *seed_tasks(hours=3)])
    expected = _answers(store)
    created = _forget_site_models(fake)
    assert store.model_stats(None, None) == []
    assert store.backfill_rollups() == (0, created)
    assert _answers(store) == expected
    assert store.backfill_rollups() == (0, 0)  # again: nothing missing


def test_a_backfill_losing_a_race_to_an_ingest_reads_again_and_counts_once() -> None:
    fake = FakeCosmosTransport()
    store = _cosmos(fake)
    store.upsert([insight("site-a", row=n, batch="0" * 32, at=T0 + timedelta(minutes=n)) for n in range(3)])
    _forget_site_models(fake)
    # An ingest creates the document meanwhile (the 409 the backfill's batch then gets: its create
    # lost), so the backfill reads the site again and finds nothing missing.
    racing = [insight("site-a", at=T0 + timedelta(minutes=30))]

    def ingest_first(request: object) -> None:
        fake.before_request = None
        store.upsert(racing)

    fake.before_request = lambda request: ingest_first(request) if request.is_batch else None
    assert store.backfill_rollups() == (0, 0)
    [model] = store.model_stats(None, None)
    assert model.counts.scored == 4


def test_the_cli_backfill_on_a_sqlite_store_opens_it_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "global.sqlite3"
    monkeypatch.setenv("CLOUD_STORE", "sqlite")
    monkeypatch.setenv("CLOUD_SQLITE_PATH", str(path))
    result = CliRunner().invoke(app, ["store", "backfill-model-rollups"])
    assert result.exit_code == 0, result.output
    assert "the rollups are summed from the counters when the store is opened" in result.output
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert {"model_hourly_counts", "model_site_counts"} <= tables


def test_the_cli_backfill_on_a_cosmos_store_creates_the_missing_rollups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeCosmosTransport()
    store = _cosmos(fake)
    store.upsert([insight("site-a"), insight("site-b", version="1.1.0")])
    _forget_site_models(fake)
    # The settings would name a real account: the command's store is this one, on the fake transport.
    monkeypatch.setattr("edgeloop.bootstrap.cloud.build_store", lambda settings: store)
    monkeypatch.setenv("CLOUD_STORE", "sqlite")
    result = CliRunner().invoke(app, ["store", "backfill-model-rollups"])
    assert result.exit_code == 0, result.output
    assert "created 0 per-site hourly and 2 per-model rollup documents" in result.output
    assert [m.sites for m in store.model_stats(None, None)] == [("site-a",), ("site-b",)]
