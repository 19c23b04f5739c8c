"""A site's state in the fleet view, derived from its latest status and the time (edgeloop.domain.fleet)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edgeloop.domain.counter_stats import SiteStats
from edgeloop.domain.fleet import FleetThresholds, fleet_rows, last_seen_text, site_state
from edgeloop.domain.insights_view import Counts
from edgeloop.domain.site_status import DriftSummary, SiteStatusRecord

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
LIMITS = FleetThresholds(
    offline_after=timedelta(minutes=5), backlog_records=100, backlog_age=timedelta(minutes=10)
)


def reported(ago: timedelta = timedelta(seconds=20), site: str = "a", **fields: object) -> SiteStatusRecord:
    return SiteStatusRecord(status_id="s", site_id=site, reported_at=NOW - ago, **fields)  # type: ignore[arg-type]


def test_a_site_reporting_on_time_without_trouble_is_ok() -> None:
    state = site_state(reported(), NOW, LIMITS)
    assert (state.state, state.reasons, state.last_seen_text) == ("ok", (), "last seen 20 s ago")


def test_a_site_silent_past_the_bound_is_offline_and_says_since_when() -> None:
    state = site_state(reported(timedelta(minutes=12), outbox_depth=10**6), NOW, LIMITS)
    assert state.state == "offline"
    assert state.last_seen_text == "last seen 12 minutes ago"
    assert state.reasons == ("last seen 12 minutes ago",)


def test_exactly_at_the_bound_is_not_yet_offline() -> None:
    assert site_state(reported(timedelta(minutes=5)), NOW, LIMITS).state == "ok"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"outbox_depth": 101}, "backlog of 101 records"),
        ({"outbox_oldest_age_s": 11 * 60.0}, "oldest record waiting 11 minutes"),
        ({"scoring_errors": 3}, "3 scoring errors"),
        ({"relay_failures": 2}, "2 relay failures"),
        ({"drift": DriftSummary("drift", 500)}, "inputs drift"),
    ],
)
def test_each_trouble_degrades_and_is_named(fields: dict[str, object], reason: str) -> None:
    state = site_state(reported(**fields), NOW, LIMITS)
    assert (state.state, state.reasons) == ("degraded", (reason,))


def test_a_backlog_at_the_bound_and_drift_on_watch_stay_ok() -> None:
    state = site_state(reported(outbox_depth=100, drift=DriftSummary("watch", 500)), NOW, LIMITS)
    assert state.state == "ok"


def test_a_site_clock_ahead_of_ours_reads_as_just_seen() -> None:
    state = site_state(reported(timedelta(seconds=-90)), NOW, LIMITS)
    assert (state.last_seen_s, state.last_seen_text) == (0.0, "last seen just now")


def test_under_a_sub_minute_offline_bound_a_silent_site_says_how_many_seconds() -> None:
    limits = FleetThresholds(offline_after=timedelta(seconds=30))
    state = site_state(reported(timedelta(seconds=40)), NOW, limits)
    assert (state.state, state.reasons) == ("offline", ("last seen 40 s ago",))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "never reported"), (0.4, "last seen just now"), (1, "last seen 1 s ago"),
     (59.9, "last seen 59 s ago"), (60, "last seen 1 minute ago"),
     (7300, "last seen 2 hours ago"), (3 * 86_400 + 5, "last seen 3 days ago")],
)  # fmt: skip
def test_last_seen_reads_in_its_largest_whole_unit(seconds: float | None, text: str) -> None:
    assert last_seen_text(seconds) == text


def test_the_fleet_has_a_row_per_site_that_reported_or_scored() -> None:
    stats = [SiteStats("b", Counts(scored=10, anomalies=1), ("m 1",)), SiteStats("c", Counts(scored=4), ())]
    rows = fleet_rows([reported(site="a"), reported(site="b")], stats, NOW, LIMITS)
    assert [(row.site_id, row.state.state, row.stats is not None) for row in rows] == [
        ("a", "ok", False),
        ("b", "ok", True),
        ("c", "unknown", True),
    ]
