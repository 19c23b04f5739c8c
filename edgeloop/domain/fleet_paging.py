"""Paging the fleet view as a fleet console does: the sites needing attention first, filtered by state.

Order: offline, then degraded, then unknown (never a status), then ok; within a state, by site id.
The per-state counts stay over the whole fleet, so the header reads the same on every page.
Pure: the use case (edgeloop.service_layer.fleet_views) hands the rows with their states.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from edgeloop.domain.fleet import SITE_STATES, FleetRow, SiteStateName

PAGE_SIZE = 100
ATTENTION_ORDER: dict[SiteStateName, int] = {"offline": 0, "degraded": 1, "unknown": 2, "ok": 3}


@dataclass(frozen=True, slots=True)
class FleetPaging:
    number: int  # from 1; past the last page: no rows
    size: int
    pages: int  # at least 1, even when no site matches
    matching: int  # sites that pass the state filter
    states: tuple[SiteStateName, ...]  # the filter; empty: every state
    counts: dict[SiteStateName, int]  # per state, over the whole fleet


def attention_key(row: FleetRow) -> tuple[int, str]:
    return ATTENTION_ORDER[row.state.state], row.site_id


def page_of(
    rows: Iterable[FleetRow], states: Collection[SiteStateName], number: int, size: int = PAGE_SIZE
) -> tuple[list[FleetRow], FleetPaging]:
    """Page ``number`` (from 1) of ``size`` rows in ``states`` (empty: all), in attention order."""
    every = list(rows)
    counts: dict[SiteStateName, int] = {state: 0 for state in SITE_STATES}
    for row in every:
        counts[row.state.state] += 1
    matching = sorted((row for row in every if not states or row.state.state in states), key=attention_key)
    pages = max(1, -(-len(matching) // size))
    chosen = tuple(state for state in SITE_STATES if state in states)
    paging = FleetPaging(number, size, pages, len(matching), chosen, counts)
    return matching[(number - 1) * size : number * size], paging
