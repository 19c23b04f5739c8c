"""The fleet view's rules: a site's state, derived at read time from its latest status.

States (docs/global-app.md):

* ``offline``: no status for longer than ``offline_after`` (the site reads "last seen N minutes
  ago", or "N s ago" under a minute; a site that stops reporting is never an error);
* ``degraded``: reporting, but its backlog is over a bound (records waiting, or the oldest
  waiting too long), errors since its previous heartbeat (scoring, relay) or its inputs drift;
* ``ok``: reporting and none of those;
* ``unknown``: insights arrived from the site, but never a status.

Pure: the store hands the latest status per site and the per-site counters; the use case
(edgeloop.service_layer.fleet_views) passes the time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from edgeloop.domain.counter_stats import SiteStats
from edgeloop.domain.site_status import DriftSummary, SiteStatusRecord

SiteStateName = Literal["ok", "degraded", "offline", "unknown"]
SITE_STATES: tuple[SiteStateName, ...] = ("ok", "degraded", "offline", "unknown")


@dataclass(frozen=True, slots=True)
class FleetThresholds:
    offline_after: timedelta = timedelta(minutes=5)
    backlog_records: int = 10_000  # outbox depth above this: degraded
    backlog_age: timedelta = timedelta(minutes=15)  # the oldest waiting record older: degraded


@dataclass(frozen=True, slots=True)
class SiteState:
    state: SiteStateName
    reasons: tuple[str, ...]  # why degraded or offline, in words
    last_seen_s: float | None  # seconds since the latest status (None: never)

    @property
    def last_seen_text(self) -> str:
        return last_seen_text(self.last_seen_s)


def fleet_status(status: SiteStatusRecord) -> SiteStatusRecord:
    """A status as the fleet view reads it: every field but the drift's per-feature figures
    (what ``InsightStore.latest_fleet_statuses`` returns; a store may keep it as columns)."""
    if not status.drift.features:
        return status
    return replace(status, drift=DriftSummary(status.drift.status, status.drift.window_rows))


def duration_text(seconds: float) -> str:
    """A duration in its largest whole unit ("12 minutes"); below a minute in seconds ("40 s")."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(seconds)} s"


def last_seen_text(seconds: float | None) -> str:
    """Like "last seen 12 minutes ago" or, under a minute, "last seen 40 s ago" (an offline bound
    under a minute must not read as just seen); under a second, or a site whose clock runs
    ahead, reads "last seen just now"."""
    if seconds is None:
        return "never reported"
    return "last seen just now" if seconds < 1 else f"last seen {duration_text(seconds)} ago"


def site_state(status: SiteStatusRecord | None, now: datetime, thresholds: FleetThresholds) -> SiteState:
    """The state of a site whose latest status is ``status`` (None: it never sent one)."""
    if status is None:
        return SiteState("unknown", ("no site status received",), None)
    age = max(0.0, (now - status.reported_at).total_seconds())
    if age > thresholds.offline_after.total_seconds():
        return SiteState("offline", (last_seen_text(age),), age)
    reasons: list[str] = []
    if status.outbox_depth > thresholds.backlog_records:
        reasons.append(f"backlog of {status.outbox_depth:,} records")
    if status.outbox_oldest_age_s > thresholds.backlog_age.total_seconds():
        reasons.append(f"oldest record waiting {duration_text(status.outbox_oldest_age_s)}")
    if status.scoring_errors:
        reasons.append(f"{status.scoring_errors} scoring errors")
    if status.relay_failures:
        reasons.append(f"{status.relay_failures} relay failures")
    if status.drift.status == "drift":
        reasons.append("inputs drift")
    return SiteState("degraded" if reasons else "ok", tuple(reasons), age)


@dataclass(frozen=True, slots=True)
class FleetRow:
    site_id: str
    state: SiteState
    status: SiteStatusRecord | None  # the latest
    stats: SiteStats | None  # counters over the fleet's window (None: nothing scored in it)


def fleet_rows(
    latest: Iterable[SiteStatusRecord],
    stats: Iterable[SiteStats],
    now: datetime,
    thresholds: FleetThresholds,
) -> list[FleetRow]:
    """One row per site that sent a status or insights, by site id."""
    by_site = {status.site_id: status for status in latest}
    counted = {site.site_id: site for site in stats}
    return [
        FleetRow(site, site_state(by_site.get(site), now, thresholds), by_site.get(site), counted.get(site))
        for site in sorted(by_site.keys() | counted.keys())
    ]
