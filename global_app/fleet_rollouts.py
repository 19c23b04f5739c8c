"""Each site's rollout state in the fleet view: the version a staged rollout targets for it, its
ring, the rollout's phase (docs/rollouts.md).

The composition root sets ``app.state.rollouts``, a lookup from a model name to its rollout
state (edgeloop.bootstrap.rollouts.build_rollout_lookup: the verified rollout pointer, read at
most every few seconds); None: the app shows no rollouts (``null`` for every site).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Request

from edgeloop.domain.fleet import FleetRow
from edgeloop.domain.rollout import RolloutState

RolloutLookup = Callable[[str], RolloutState | None]

SITE_ROLLOUT: dict[str, Any] = {
    "type": ["object", "null"],
    "description": "The staged rollout this site is under (null: none known)",
    "properties": {
        "model": {"type": "string"},
        "candidate": {"type": "string"},
        "previous": {"type": "string"},
        "phase": {"enum": ["soaking", "halted", "rolled_back", "complete"]},
        "ring": {"type": ["integer", "null"], "description": "This site's ring (null: in none)"},
        "current_ring": {"type": "integer"},
        "target_version": {"type": "string", "description": "What the rollout tells this site to serve"},
        "pinned": {"type": "boolean"},
        "excluded": {"type": ["string", "null"], "description": "Why it keeps the previous version"},
    },
}


def site_rollout(state: RolloutState | None, site: str) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "model": state.name,
        "candidate": state.candidate,
        "previous": state.previous,
        "phase": state.phase,
        "ring": state.ring_of(site),
        "current_ring": state.ring,
        "target_version": state.version_for(site),
        "pinned": site in state.pins,
        "excluded": state.excluded.get(site),
    }


def _lookup(request: Request) -> RolloutLookup | None:
    lookup: RolloutLookup | None = getattr(request.app.state, "rollouts", None)
    return lookup


def row_rollout(request: Request, row: FleetRow) -> dict[str, Any] | None:
    lookup, status = _lookup(request), row.status
    if lookup is None or status is None or not status.model.name:
        return None
    return site_rollout(lookup(status.model.name), row.site_id)


def page_rollouts(request: Request, rows: Iterable[FleetRow]) -> dict[str, dict[str, Any] | None]:
    """Site id -> its rollout state, for the rows of a page."""
    return {row.site_id: row_rollout(request, row) for row in rows}


def rollout_text(cells: dict[str, Any] | None) -> str:
    """A rollout's cells as the pages show them ('' when none)."""
    if cells is None:
        return ""
    ring = "no ring" if cells["ring"] is None else f"ring {cells['ring']}"
    change = f"{cells['previous']} -> {cells['candidate']}"
    return f"rollout {change} {cells['phase']}: {cells['target_version']} here ({ring})"
