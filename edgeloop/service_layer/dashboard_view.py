"""The global dashboard's read, bounded at any fleet size (the page ``GET /``).

Contract: every figure comes from the hourly counters and their rollups kept at ingest (per site
and hour; per model and hour, per model and site), never from a scan of the insights, and every
list on the page is bounded, whatever the fleet:

* the overall row and the number of sites: ``site_totals`` (without a range, the per-model
  rollup's one row per site and model; with one, the per-site hourly rollup);
* one page of ``sites_page`` sites by site id, after ``sites_after`` (keyset), each with its
  model versions from its own counters (``site_stats`` of that site: a key prefix, a partition);
* the models table (``model_stats``: one row per model, from the per-model rollups), read on
  ``pool`` when given, alongside the per-site totals (the two are the page's largest reads, and
  independent), and the page's sites' own reads side by side on it too (in Cosmos DB a
  partition query each);
* the chart: every site's hours when the fleet has at most ``chart_sites`` sites, else those of
  the ``chart_sites`` sites with the highest anomaly rate in the range, each read on its own;
* ``latest.limit`` latest insights off the time index (``query``: filtered, keyset-paged).
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta

from edgeloop.domain.counter_stats import HourlyRate, SiteStats, overall_stats
from edgeloop.domain.insights_view import InsightPage, InsightQuery, model_label
from edgeloop.domain.model_stats import ModelStats
from edgeloop.ports import InsightStore
from edgeloop.service_layer.global_views import Summary, counted_range

CHART_HOURS = 48
CHART_SITES = 8  # lines a reader can tell apart (the palette has ten)
SITES_PAGE = 25
LATEST = 20
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Dashboard:
    summary: Summary  # sites: this page's; overall: every site's
    site_count: int  # sites with data in the range
    next_sites_after: str | None  # the keyset of the next page of sites; None: the last page
    rates: list[HourlyRate]  # the chart's hours, of the charted sites
    charted_sites: int  # fewer than site_count: the sites with the highest anomaly rate
    chart_start: datetime | None
    chart_end: datetime | None
    latest: InsightPage


def dashboard(
    store: InsightStore,
    start: datetime | None,
    end: datetime | None,
    latest: InsightQuery | None = None,
    sites_after: str | None = None,
    *,
    pool: Executor | None = None,
    sites_page: int = SITES_PAGE,
    chart_sites: int = CHART_SITES,
    chart_hours: int = CHART_HOURS,
) -> Dashboard:
    """Without a range, the chart spans at most ``chart_hours`` hours, ending with the newest data;
    ``latest``: the insights list's query (default: the latest anomalies in the range)."""
    models_read = pool.submit(store.model_stats, start, end) if pool else None
    totals = store.site_totals(start, end)
    later = [site for site in totals if sites_after is None or site.site_id > sites_after]
    page = _page_stats(store, start, end, [site.site_id for site in later[:sites_page]], pool)
    models = models_read.result() if models_read else store.model_stats(start, end)
    charted = totals if len(totals) <= chart_sites else _most_anomalous(totals, chart_sites)
    rates, chart_start, chart_end = _chart(store, start, end, [s.site_id for s in charted], chart_hours)
    insights = store.query(latest or InsightQuery(start=start, end=end, anomalies_only=True, limit=LATEST))
    return Dashboard(
        Summary(*counted_range(start, end), page, _overall(totals, models), models),
        len(totals),
        page[-1].site_id if page and len(later) > sites_page else None,
        rates,
        len(charted),
        chart_start,
        chart_end,
        insights,
    )


def _page_stats(
    store: InsightStore, start: datetime | None, end: datetime | None, sites: list[str], pool: Executor | None
) -> list[SiteStats]:
    """Each site's own figures, model versions named (in Cosmos DB a partition each: on ``pool``)."""

    def read(site: str) -> list[SiteStats]:
        return store.site_stats(start, end, site)

    return [stats for found in (pool.map(read, sites) if pool else map(read, sites)) for stats in found]


def _most_anomalous(totals: list[SiteStats], count: int) -> list[SiteStats]:
    ranked = sorted(totals, key=lambda site: (-(site.anomaly_rate or 0.0), site.site_id))[:count]
    return sorted(ranked, key=lambda site: site.site_id)


def _overall(totals: list[SiteStats], models: list[ModelStats]) -> SiteStats:
    """Every site's counts (the rollup names no versions: the models in use name them)."""
    versions = {model_label(m.model.name, m.model.version) for m in models if m.counts.scored}
    return SiteStats("all sites", overall_stats(totals).counts, tuple(sorted(versions)))


def _chart(
    store: InsightStore, start: datetime | None, end: datetime | None, sites: list[str], hours: int
) -> tuple[list[HourlyRate], datetime | None, datetime | None]:
    chart_start, chart_end = start, end
    if start is None:
        # The newest insight comes off the time index; the chart then reads only its window.
        newest = store.query(InsightQuery(end=end, limit=1)).items
        if newest:
            chart_end = end or newest[0].record.scored_at.replace(minute=0, second=0, microsecond=0) + HOUR
            chart_start = chart_end - timedelta(hours=hours)
    rates = [rate for site in sites for rate in store.hourly_rates(chart_start, chart_end, site)]
    if rates and start is None:
        chart_start = min(rate.hour for rate in rates)  # no empty stretch before the first data
    return rates, chart_start, chart_end
