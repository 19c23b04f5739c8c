"""Read-side use cases of the global app: the summary and the models' hours, from the store port
(the dashboard page's read: edgeloop.service_layer.dashboard_view)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edgeloop.domain.counter_stats import SiteStats, overall_stats
from edgeloop.domain.insights_view import hour_range, hour_start
from edgeloop.domain.model_stats import ModelHour, ModelStats
from edgeloop.ports import InsightStore


@dataclass(frozen=True, slots=True)
class Summary:
    start: datetime | None  # the range actually counted: whole hours
    end: datetime | None
    sites: list[SiteStats]
    overall: SiteStats
    models: list[ModelStats]  # per (name, version, task), over all sites


@dataclass(frozen=True, slots=True)
class ModelHours:
    start: datetime | None  # the range actually counted: whole hours
    end: datetime | None
    hours: list[ModelHour]


def counted_range(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    first, last = hour_range(start, end)
    return hour_start(first) if first else None, hour_start(last) if last else None


def summary(store: InsightStore, start: datetime | None, end: datetime | None) -> Summary:
    """Per-site, overall and per-model totals over [start, end), widened to whole hours."""
    sites = store.site_stats(start, end)
    return Summary(*counted_range(start, end), sites, overall_stats(sites), store.model_stats(start, end))


def model_hours(store: InsightStore, start: datetime | None, end: datetime | None) -> ModelHours:
    """Each model's counts per hour with data over [start, end), widened to whole hours."""
    return ModelHours(*counted_range(start, end), store.model_hours(start, end))
