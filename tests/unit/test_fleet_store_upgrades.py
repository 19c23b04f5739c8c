"""Global stores written before the fleet's columns and rollup carry on: a SQLite file is
upgraded on open (latest statuses read into columns, the rollup summed from the counters); a
Cosmos DB hour counted before rollups gets its rollup from its counters at its next write."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from azure.cosmos import CosmosClient
from contract.cosmos_fake_transport import ENDPOINT, FAKE_KEY, FakeCosmosTransport
from contract.insight_factory import T0, feedback, insight, seed_sites

from edgeloop.adapters.cosmos_store import CosmosInsightStore
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.fleet import fleet_status
from edgeloop.domain.records import ModelRef
from edgeloop.domain.site_status import DriftSummary, SiteStatusRecord, new_status_id

# The latest-status table as it was before its fleet columns.
BEFORE_COLUMNS = """
CREATE TABLE site_status_latest (site_id TEXT PRIMARY KEY, reported_at TEXT NOT NULL,
    status_id TEXT NOT NULL, doc BLOB NOT NULL) WITHOUT ROWID
"""


def status(site: str, minutes: float, *, depth: int = 0) -> SiteStatusRecord:
    drift = DriftSummary("drift", 200, {"torque_nm": {"psi": 0.4, "status": "drift"}})
    model = ModelRef("failure-risk", "1.0.0", "ab" * 32)
    at = T0 + timedelta(minutes=minutes)
    return SiteStatusRecord(new_status_id(), site, at, model, "1.1.0", depth, 2.0, 0.5, T0, 1, drift=drift)


def test_a_sqlite_file_from_before_the_fleet_columns_and_rollup_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    store = SqliteInsightStore(path)
    store.upsert(seed_sites(sites=3, hours=3, per_hour=4))
    latest = [status("site-0", 1, depth=4), status("site-1", 2)]
    store.upsert_site_status(latest)
    expected = store.site_stats(None, None)
    store.close()
    with sqlite3.connect(path) as conn:  # back to the file as the previous version left it
        docs = conn.execute("SELECT site_id, reported_at, status_id, doc FROM site_status_latest").fetchall()
        conn.executescript(f"DROP TABLE site_hourly_counts; DROP TABLE site_status_latest; {BEFORE_COLUMNS};")
        conn.executemany("INSERT INTO site_status_latest VALUES (?, ?, ?, ?)", docs)
    conn.close()

    upgraded = SqliteInsightStore(path)
    assert upgraded.latest_fleet_statuses() == [fleet_status(s) for s in latest]
    assert upgraded.latest_site_statuses() == latest
    assert [s.counts for s in upgraded.site_totals(None, None)] == [s.counts for s in expected]
    upgraded.upsert_site_status([status("site-0", 0)])  # older: the latest stays
    assert upgraded.latest_fleet_statuses()[0] == fleet_status(latest[0])
    upgraded.close()
    again = SqliteInsightStore(path)  # opening an upgraded file again changes nothing
    assert [s.counts for s in again.site_totals(None, None)] == [s.counts for s in expected]
    again.close()


def test_a_cosmos_hour_counted_before_rollups_gets_its_rollup_from_its_counters() -> None:
    fake = FakeCosmosTransport()
    client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=fake, retry_total=0)
    store = CosmosInsightStore(client.get_database_client("edgeloop").get_container_client("insights"))
    first = insight(anomaly=True)
    store.upsert([first, feedback(first, 1)])
    for key in [key for key, doc in fake.documents.items() if doc["doc_type"] == "site_hourly"]:
        del fake.documents[key]  # as a store written before rollups
    assert store.site_totals(T0, None) == []  # a range reads the hourly rollup (all time: per model)
    store.upsert([insight(at=T0 + timedelta(minutes=10)), insight(at=T0 + timedelta(hours=1))])
    [totals] = store.site_totals(T0, None)
    [counted] = store.site_stats(None, None)
    assert totals.counts == counted.counts
    assert totals.counts.scored == 3
