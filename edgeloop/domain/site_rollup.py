"""The per-site hourly rollup the fleet view sums: the hourly counters folded over model and task.

Kept at ingest from the same difference as the counters (``insights_view.counter_delta``), in
the same write, so a redelivered record, which changes no counter, changes no rollup either.
Pure: each store keeps the rows its way (a table in SQLite, a document per hour in Cosmos DB).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from edgeloop.domain.counter_stats import SiteStats
from edgeloop.domain.insights_view import CounterKey, Counts

SiteHour = tuple[str, str]  # (site_id, hour bucket as in CounterKey.hour)


def rollup_delta(delta: Mapping[CounterKey, Counts]) -> dict[SiteHour, Counts]:
    """The counters' change per (site, hour), leaving out the hours whose change sums to nothing."""
    rolled: dict[SiteHour, Counts] = {}
    for key, change in delta.items():
        slot = (key.site_id, key.hour)
        rolled[slot] = rolled.get(slot, Counts()) + change
    return {slot: change for slot, change in rolled.items() if change != Counts()}


def site_totals_of(rows: Iterable[tuple[str, Counts]]) -> list[SiteStats]:
    """Per-site totals from (site, counts) rows, by site; as ``counter_stats.site_stats``, a site
    that scored nothing in the range is left out, and the model versions are not named."""
    totals: dict[str, Counts] = {}
    for site, counts in rows:
        totals[site] = totals.get(site, Counts()) + counts
    return [SiteStats(site, totals[site], ()) for site in sorted(totals) if totals[site].scored > 0]
