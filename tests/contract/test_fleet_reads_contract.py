"""The fleet view's reads in the InsightStore contract, for every adapter (see conftest.py):
``latest_fleet_statuses`` (each site's latest, no per-feature drift figures) and ``site_totals``
(the per-site hourly rollup kept at ingest, unchanged by redelivery)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from insight_factory import T0, feedback, insight, new_batch_id, seed_sites
from test_site_status_contract import status

from edgeloop.domain.fleet import fleet_status
from edgeloop.domain.insights_view import Counts
from edgeloop.domain.site_status import DriftSummary
from edgeloop.ports import InsightStore


def totals(store: InsightStore, hours_from: int = 0) -> dict[str, Counts]:
    return {s.site_id: s.counts for s in store.site_totals(T0 + timedelta(hours=hours_from), None)}


def stats(store: InsightStore, hours_from: int = 0) -> dict[str, Counts]:
    return {s.site_id: s.counts for s in store.site_stats(T0 + timedelta(hours=hours_from), None)}


def test_the_fleet_reads_each_sites_latest_status_without_the_drift_figures(store: InsightStore) -> None:
    older, newer, other = status(minutes=1, depth=7), status(minutes=2, depth=3), status("site-b", 1)
    store.upsert_site_status([newer, other])
    store.upsert_site_status([older])  # late: the latest stays
    assert store.latest_fleet_statuses() == [fleet_status(newer), fleet_status(other)]
    assert store.latest_fleet_statuses()[0].drift == DriftSummary("watch", 500)
    assert store.latest_site_statuses() == [newer, other]  # the whole record is still kept


def test_a_status_with_every_optional_field_empty_reads_back_as_sent(store: InsightStore) -> None:
    bare = replace(status(), champion_version=None, relay_lag_s=None, last_send_at=None, drift=DriftSummary())
    store.upsert_site_status([bare])
    assert store.latest_fleet_statuses() == [bare]


def test_site_totals_are_the_rollup_of_every_model_and_survive_redelivery(store: InsightStore) -> None:
    records = seed_sites(sites=3, hours=4, per_hour=5)  # two model versions a site, feedback
    store.upsert(records)
    before = totals(store, hours_from=1)
    assert before == stats(store, hours_from=1)
    assert len(before) == 3
    store.upsert(records)  # the same blobs again, then a part of them
    store.upsert(records[len(records) // 3 :])
    assert totals(store, hours_from=1) == before
    assert totals(store) == stats(store)


def test_feedback_before_its_insight_and_a_changed_label_move_the_totals_once(store: InsightStore) -> None:
    flagged = insight("site-x", batch=new_batch_id(), anomaly=True, at=T0 + timedelta(minutes=30))
    store.upsert([feedback(flagged, 1, fid="f-1")])  # pending: nothing scored yet
    assert totals(store) == {}
    store.upsert([flagged])
    store.upsert([flagged, feedback(flagged, 0, fid="f-2", at=T0 + timedelta(hours=2))])
    store.upsert([feedback(flagged, 0, fid="f-2", at=T0 + timedelta(hours=2))])  # redelivered
    assert totals(store) == stats(store)
    assert totals(store)["site-x"].scored == 1
    assert totals(store)["site-x"].feedback == 1
