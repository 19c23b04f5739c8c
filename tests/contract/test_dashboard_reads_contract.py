"""The dashboard's bounded read over every adapter (see conftest.py): one page of sites by keyset,
the overall row of every site, the chart's most anomalous sites, the latest insights keyset-paged."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from insight_factory import T0, insight, new_batch_id

from edgeloop.domain.insights_view import InsightQuery
from edgeloop.domain.records import InsightRecord
from edgeloop.ports import InsightStore
from edgeloop.service_layer.dashboard_view import LATEST, dashboard

SITES = 7


def fleet_history() -> list[InsightRecord]:
    """Seven sites over two hours, four insights an hour; site n has n anomalies in its eight
    (site 0: none), the first hour on version 1.0.0, the second on 1.1.0."""
    records = []
    for s in range(SITES):
        batch = new_batch_id()
        for row in range(8):
            at = T0 + timedelta(hours=row // 4, minutes=row)
            version = "1.0.0" if row < 4 else "1.1.0"
            records.append(
                insight(f"plant-{s}", row=row, batch=batch, at=at, anomaly=row < s, version=version)
            )
    return records


def test_the_sites_table_pages_by_site_id_and_the_overall_row_counts_every_site(store: InsightStore) -> None:
    store.upsert(fleet_history())
    first = dashboard(store, None, None, sites_page=3)
    assert [s.site_id for s in first.summary.sites] == ["plant-0", "plant-1", "plant-2"]
    assert first.summary.sites[1].model_versions == ("failure-risk 1.0.0", "failure-risk 1.1.0")
    assert (first.site_count, first.next_sites_after) == (SITES, "plant-2")
    assert first.summary.overall.counts.scored == SITES * 8
    assert first.summary.overall.counts.anomalies == sum(range(SITES))
    assert first.summary.overall.model_versions == ("failure-risk 1.0.0", "failure-risk 1.1.0")
    second = dashboard(store, None, None, sites_after="plant-2", sites_page=3)
    assert [s.site_id for s in second.summary.sites] == ["plant-3", "plant-4", "plant-5"]
    last = dashboard(store, None, None, sites_after="plant-5", sites_page=3)
    assert ([s.site_id for s in last.summary.sites], last.next_sites_after) == (["plant-6"], None)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the models read on another thread: the same page
        assert dashboard(store, None, None, sites_page=3, pool=pool) == first


def test_the_chart_keeps_the_most_anomalous_sites_once_the_fleet_outgrows_it(store: InsightStore) -> None:
    store.upsert(fleet_history())
    few = dashboard(store, None, None, chart_sites=SITES)
    assert {rate.site_id for rate in few.rates} == {f"plant-{s}" for s in range(SITES)}
    many = dashboard(store, None, None, chart_sites=3)
    assert many.charted_sites == 3
    assert sorted({rate.site_id for rate in many.rates}) == ["plant-4", "plant-5", "plant-6"]
    assert len(many.rates) == 3 * 2  # two hours each
    assert (many.chart_start, many.chart_end) == (T0, T0 + timedelta(hours=2))


def test_the_latest_insights_page_back_in_time_with_their_filters(store: InsightStore) -> None:
    store.upsert(fleet_history())
    anomalies = dashboard(store, None, None).latest  # 21 in all: a page of 20 and a next one
    assert [item.record.anomaly for item in anomalies.items] == [True] * LATEST
    assert anomalies.next_after is not None
    query = InsightQuery(site_id="plant-6", limit=3)
    seen = []
    while True:
        page = dashboard(store, None, None, query).latest
        seen += [item.record.scored_at for item in page.items]
        if page.next_after is None:
            break
        query = InsightQuery(site_id="plant-6", limit=3, after=page.next_after)
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == 8
