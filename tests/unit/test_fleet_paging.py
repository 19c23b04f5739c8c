"""Paging the fleet (edgeloop.domain.fleet_paging): attention first, by state, the whole fleet counted."""

from __future__ import annotations

from edgeloop.domain.fleet import FleetRow, SiteState, SiteStateName
from edgeloop.domain.fleet_paging import page_of


def row(site: str, state: SiteStateName) -> FleetRow:
    return FleetRow(site, SiteState(state, (), None), None, None)


FLEET = [row("a", "ok"), row("b", "offline"), row("c", "degraded"), row("d", "unknown"), row("e", "offline")]


def sites(rows: list[FleetRow]) -> list[str]:
    return [r.site_id for r in rows]


def test_sites_needing_attention_come_first_then_by_site() -> None:
    rows, paging = page_of(FLEET, (), 1, size=10)
    assert sites(rows) == ["b", "e", "c", "d", "a"]
    assert (paging.number, paging.pages, paging.matching, paging.states) == (1, 1, 5, ())


def test_pages_split_the_ordered_fleet_and_past_the_last_is_empty() -> None:
    pages = [page_of(FLEET, (), number, size=2) for number in (1, 2, 3, 4)]
    assert [sites(rows) for rows, _ in pages] == [["b", "e"], ["c", "d"], ["a"], []]
    assert {paging.pages for _, paging in pages} == {3}


def test_a_state_filter_pages_its_sites_while_the_counts_stay_the_fleets() -> None:
    rows, paging = page_of(FLEET, ("ok", "offline"), 1, size=10)
    assert sites(rows) == ["b", "e", "a"]
    assert paging.matching == 3
    assert paging.states == ("ok", "offline")  # in the states' own order
    assert paging.counts == {"ok": 1, "degraded": 1, "offline": 2, "unknown": 1}


def test_an_empty_fleet_is_one_empty_page() -> None:
    only: tuple[SiteStateName, ...] = ("degraded",)
    rows, paging = page_of([], only, 1)
    assert rows == []
    assert (paging.pages, paging.matching) == (1, 0)
