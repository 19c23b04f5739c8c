"""Read-side use cases of the global app: the summary and the dashboard, from the store port."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edgeloop.domain.counter_stats import HourlyRate, SiteStats, overall_stats
from edgeloop.domain.insights_view import InsightQuery, StoredInsight, hour_range, hour_start
from edgeloop.domain.model_stats import ModelHour, ModelStats
from edgeloop.ports import InsightStore

CHART_HOURS = 48
LATEST_ANOMALIES = 20
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Summary:
    start: datetime | None  # the range actually counted: whole hours
    end: datetime | None
    sites: list[SiteStats]
    overall: SiteStats
    models: list[ModelStats]  # per (name, version, task), over all sites


@dataclass(frozen=True, slots=True)
class Dashboard:
    summary: Summary
    rates: list[HourlyRate]  # the chart's hours
    chart_start: datetime | None
    chart_end: datetime | None
    latest_anomalies: tuple[StoredInsight, ...]


@dataclass(frozen=True, slots=True)
class ModelHours:
    start: datetime | None  # the range actually counted: whole hours
    end: datetime | None
    hours: list[ModelHour]


def _counted(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    first, last = hour_range(start, end)
    return hour_start(first) if first else None, hour_start(last) if last else None


def summary(store: InsightStore, start: datetime | None, end: datetime | None) -> Summary:
    """Per-site, overall and per-model totals over [start, end), widened to whole hours."""
    sites = store.site_stats(start, end)
    return Summary(*_counted(start, end), sites, overall_stats(sites), store.model_stats(start, end))


def model_hours(store: InsightStore, start: datetime | None, end: datetime | None) -> ModelHours:
    """Each model's counts per hour with data over [start, end), widened to whole hours."""
    return ModelHours(*_counted(start, end), store.model_hours(start, end))


def dashboard(
    store: InsightStore,
    start: datetime | None,
    end: datetime | None,
    *,
    chart_hours: int = CHART_HOURS,
    latest: int = LATEST_ANOMALIES,
) -> Dashboard:
    """Without a range, the chart spans at most ``chart_hours`` hours, ending with the newest data."""
    chart_start, chart_end = start, end
    if start is None:
        # The newest insight comes off the time index; the chart then reads only its window.
        newest = store.query(InsightQuery(end=end, limit=1)).items
        if newest:
            chart_end = end or newest[0].record.scored_at.replace(minute=0, second=0, microsecond=0) + HOUR
            chart_start = chart_end - timedelta(hours=chart_hours)
    rates = store.hourly_rates(chart_start, chart_end)
    if rates and start is None:
        chart_start = min(rate.hour for rate in rates)  # no empty stretch before the first data
    anomalies = store.query(InsightQuery(start=start, end=end, anomalies_only=True, limit=latest))
    return Dashboard(summary(store, start, end), rates, chart_start, chart_end, anomalies.items)
