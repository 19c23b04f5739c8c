"""The site-status part of the InsightStore contract, for every adapter (see conftest.py)."""

from __future__ import annotations

from datetime import timedelta

from insight_factory import T0, seed_sites

from edgeloop.domain.records import ModelRef
from edgeloop.domain.site_status import DriftSummary, SiteStatusRecord, new_status_id
from edgeloop.ports import InsightStore


def status(
    site: str = "site-a", minutes: float = 0, *, depth: int = 0, version: str = "1.0.0"
) -> SiteStatusRecord:
    return SiteStatusRecord(
        status_id=new_status_id(),
        site_id=site,
        reported_at=T0 + timedelta(minutes=minutes),
        model=ModelRef("failure-risk", version, "ab" * 32),
        champion_version="1.1.0",
        outbox_depth=depth,
        outbox_oldest_age_s=1.5,
        relay_lag_s=0.5,
        last_send_at=T0,
        scoring_errors=1,
        drift=DriftSummary("watch", 500, {"torque_nm": {"psi": 0.12, "status": "watch"}}),
    )


def test_a_status_reads_back_equal_as_latest_and_in_history(store: InsightStore) -> None:
    sent = status()
    store.upsert_site_status([sent])
    assert store.latest_site_statuses() == [sent]
    assert store.site_status_history("site-a", None, None, 10) == [sent]


def test_the_same_heartbeat_twice_stores_once(store: InsightStore) -> None:
    sent = status()
    store.upsert_site_status([sent])
    store.upsert_site_status([sent])
    store.upsert_site_status([sent, sent])
    assert store.site_status_history("site-a", None, None, 10) == [sent]
    assert store.latest_site_statuses() == [sent]


def test_an_older_heartbeat_arriving_late_does_not_replace_the_latest(store: InsightStore) -> None:
    older, newer = status(minutes=1, depth=900), status(minutes=2, depth=3)
    store.upsert_site_status([newer])
    store.upsert_site_status([older])
    assert store.latest_site_statuses() == [newer]
    # It still joins the history, in time order.
    assert store.site_status_history("site-a", None, None, 10) == [older, newer]


def test_latest_is_per_site_and_history_is_the_newest_within_the_range(store: InsightStore) -> None:
    beats = [status("site-a", minutes=m, depth=m) for m in range(6)]
    other = status("site-b", minutes=3, version="2.0.0")
    store.upsert_site_status([*beats[:3], other, *beats[3:]])
    assert store.latest_site_statuses() == [beats[-1], other]
    assert store.site_status_history("site-a", None, None, 2) == beats[4:]
    ranged = store.site_status_history("site-a", T0 + timedelta(minutes=1), T0 + timedelta(minutes=4), 10)
    assert ranged == beats[1:4]
    assert store.site_status_history("site-c", None, None, 10) == []


def test_statuses_leave_the_insight_figures_alone(store: InsightStore) -> None:
    store.upsert_site_status([status()])
    assert store.site_stats(None, None) == []
    assert store.hourly_rates(None, None) == []


def test_the_figures_of_one_site_are_those_of_all_sites_for_it(store: InsightStore) -> None:
    store.upsert(seed_sites(sites=3, hours=4, per_hour=5))
    assert store.site_stats(None, None, "site-1") == [
        s for s in store.site_stats(None, None) if s.site_id == "site-1"
    ]
    assert store.site_stats(None, None, "site-9") == []
    every = store.hourly_rates(None, None)
    assert store.hourly_rates(None, None, "site-1") == [rate for rate in every if rate.site_id == "site-1"]
    assert store.hourly_rates(None, None, "site-9") == []


def test_site_totals_count_as_site_stats_do(store: InsightStore) -> None:
    store.upsert(seed_sites(sites=3, hours=4, per_hour=5))
    start = T0 + timedelta(hours=1)
    totals = {stats.site_id: stats.counts for stats in store.site_totals(start, None)}
    assert totals == {stats.site_id: stats.counts for stats in store.site_stats(start, None)}
    assert len(totals) == 3
