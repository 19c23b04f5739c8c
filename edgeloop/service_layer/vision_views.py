"""Read-side use case of the vision view: per site, its cameras' frames, defects and class mix per hour.

Contract: the store's vision counters are read (edgeloop.domain.vision_counts: kept at ingest, a
row per site, camera, hour and model), never the insights; one site's reads its rows only (its
partition in Cosmos DB, its key prefix in SQLite). Without a start the view covers the
``DEFAULT_WINDOW`` up to ``now``, from a whole hour, as the counters are hourly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edgeloop.domain.vision_view import SiteVision, vision_sites
from edgeloop.ports import InsightStore

DEFAULT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class VisionView:
    start: datetime
    end: datetime | None  # None: up to now
    sites: list[SiteVision]


def vision(
    store: InsightStore,
    now: datetime,
    start: datetime | None,
    end: datetime | None,
    site_id: str | None = None,
) -> VisionView:
    """Every site with image insights in [start, end) (``site_id``: that one only), by site id."""
    start = start or (now - DEFAULT_WINDOW).replace(minute=0, second=0, microsecond=0)
    return VisionView(start, end, vision_sites(store.vision_hours(start, end, site_id)))
