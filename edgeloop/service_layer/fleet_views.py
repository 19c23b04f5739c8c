"""Read-side use cases of the fleet view: every site's state, and one site's history.

Contract: the store is read, never scanned: each site's latest status (one row per site, its
fleet fields only), the per-site hourly rollup of the fleet's window (the anomaly rate and
feedback accuracy per site) and, for one site, its newest statuses and hourly counters. The
state is derived here at read time, from ``now`` minus the latest ``reported_at``
(edgeloop.domain.fleet), so a site that stops reporting turns ``offline`` ("last seen N minutes
ago") without anything being written, and never an error.
The fleet is paged after the states are known (edgeloop.domain.fleet_paging): the sites needing
attention first, filtered by state, the per-state counts over the whole fleet.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from edgeloop.domain.counter_stats import HourlyRate
from edgeloop.domain.fleet import FleetRow, FleetThresholds, SiteStateName, fleet_rows
from edgeloop.domain.fleet_paging import PAGE_SIZE, FleetPaging, page_of
from edgeloop.domain.site_status import SiteStatusRecord
from edgeloop.ports import InsightStore

HISTORY_LIMIT = 720  # a site's page charts its newest statuses: 6 hours at one per 30 s


@dataclass(frozen=True, slots=True)
class FleetView:
    now: datetime
    window_start: datetime  # the anomaly rate and feedback accuracy count from this hour on
    thresholds: FleetThresholds
    rows: list[FleetRow]  # this page's
    paging: FleetPaging


@dataclass(frozen=True, slots=True)
class SiteHistory:
    now: datetime
    window_start: datetime
    row: FleetRow
    statuses: list[SiteStatusRecord]  # oldest first
    rates: list[HourlyRate]  # the site's anomaly rate per hour of the window


def _window_start(now: datetime, window: timedelta) -> datetime:
    return (now - window).replace(minute=0, second=0, microsecond=0)


def fleet(
    store: InsightStore,
    now: datetime,
    thresholds: FleetThresholds,
    window: timedelta,
    states: Collection[SiteStateName] = (),
    page: int = 1,
    size: int = PAGE_SIZE,
) -> FleetView:
    """Page ``page`` of the sites that sent a status or scored in the window, in ``states`` (empty:
    all): offline first, then degraded, unknown and ok, each by site id."""
    start = _window_start(now, window)
    rows = fleet_rows(store.latest_fleet_statuses(), store.site_totals(start, None), now, thresholds)
    chosen, paging = page_of(rows, states, page, size)
    return FleetView(now, start, thresholds, chosen, paging)


def site_history(
    store: InsightStore,
    site_id: str,
    now: datetime,
    thresholds: FleetThresholds,
    window: timedelta,
    limit: int = HISTORY_LIMIT,
) -> SiteHistory | None:
    """The site's row, newest ``limit`` statuses and hourly rates; None for a site never heard of.

    Reads that site's rows only: its partition in Cosmos DB, its key prefix in SQLite."""
    start = _window_start(now, window)
    statuses = store.site_status_history(site_id, None, None, limit)
    rows = fleet_rows(statuses[-1:], store.site_stats(start, None, site_id), now, thresholds)
    if not rows:
        return None
    return SiteHistory(now, start, rows[0], statuses, store.hourly_rates(start, None, site_id))
