"""``edgeloop replay --fleet``: every site of a local fleet replayed at once, each with its own rows.

The fleet file (``var/local/fleet.json``, written by ``make run``) lists each site and its
scoring app: ``{"sites": [{"site_id": "site-1", "url": "http://127.0.0.1:8000"}, ...]}``.
The CSV's rows are dealt out in consecutive slices, one per site, and each site is driven by
its own :class:`Replayer` in its own thread; a recalibrated sensor (``--drift``) may be
applied to one site's rows only, so that one site drifts and the others do not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from edgeloop.cli.replayer import Poison, Replayer, ReplayError, ReplayRow, ReplayStats

FLEET_FILE = Path("var/local/fleet.json")


@dataclass(frozen=True)
class FleetSite:
    site_id: str
    url: str


def read_fleet(path: Path) -> list[FleetSite]:
    """The sites of the fleet file; ReplayError naming the file and what is wrong with it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        sites = [FleetSite(str(s["site_id"]), str(s["url"])) for s in document["sites"]]
    except FileNotFoundError:
        raise ReplayError(f"{path}: no fleet file (`make run` writes it; or pass --url per site)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReplayError(f"{path}: not a fleet file ({type(exc).__name__}: {exc})") from None
    if not sites:
        raise ReplayError(f"{path}: lists no site")
    return sites


def deal_rows(rows: list[ReplayRow], sites: int) -> list[list[ReplayRow]]:
    """``sites`` consecutive slices of ``rows`` as equal as can be: each site its own data."""
    size, extra = divmod(len(rows), sites)
    slices, start = [], 0
    for index in range(sites):
        end = start + size + (1 if index < extra else 0)
        slices.append(rows[start:end])
        start = end
    return slices


@dataclass(frozen=True)
class FleetReplay:
    """How each site is replayed: the same rate, delay and key; its own rows."""

    api_key: str
    rate: float
    feedback_delay: float
    poison: Poison | None = None

    def run(self, sites: list[FleetSite], rows_per_site: list[list[ReplayRow]]) -> dict[str, ReplayStats]:
        """Replay every site at once; each site's stats, or ReplayError naming each site that failed."""
        results: dict[str, ReplayStats] = {}
        failures: dict[str, str] = {}

        def replay(site: FleetSite, rows: list[ReplayRow]) -> None:
            try:
                results[site.site_id] = self.one(site, rows)
            except ReplayError as exc:
                failures[site.site_id] = str(exc)

        threads = [
            threading.Thread(target=replay, args=(site, rows), name=f"replay-{site.site_id}")
            for site, rows in zip(sites, rows_per_site, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise ReplayError("; ".join(f"{site}: {why}" for site, why in sorted(failures.items())))
        return results

    def one(
        self, site: FleetSite, rows: list[ReplayRow], on_progress: Callable[[ReplayStats], None] | None = None
    ) -> ReplayStats:
        headers = {"X-API-Key": self.api_key}
        with httpx.Client(base_url=site.url, headers=headers, timeout=30.0) as client:
            replayer = Replayer(client, rate=self.rate, feedback_delay=self.feedback_delay)
            if site.site_id:  # a site named: refuse a scoring app that serves another one
                replayer.check_site(site.site_id)
            if on_progress is None:
                return replayer.run(rows, poison=self.poison)
            return replayer.run(rows, on_progress, poison=self.poison)


def served_model(site: FleetSite, api_key: str) -> dict[str, Any]:
    """The description of the model ``site`` serves (all sites of a fleet follow one model line)."""
    with httpx.Client(base_url=site.url, headers={"X-API-Key": api_key}, timeout=30.0) as client:
        return Replayer(client, rate=1.0, feedback_delay=0.0).model()
