"""partition_of: the blob name's (site, date, hour) as the strftime form it was first written with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from edgeloop.domain.records import RecordError, format_timestamp, parse_timestamp
from edgeloop.wire.storage_layout import UNKNOWN, partition_of


def strftime_partition(record: dict[str, Any]) -> tuple[str, str, str]:
    """The partition as first written: quote the site, strftime the date and hour."""
    site = record.get("site_id")
    site_text = quote(site, safe="-_.~") if isinstance(site, str) and site else UNKNOWN
    stamp = record.get("scored_at", record.get("recorded_at"))
    if not isinstance(stamp, str):
        return site_text, UNKNOWN, UNKNOWN
    try:
        moment = parse_timestamp(stamp, "timestamp")
    except RecordError:
        return site_text, UNKNOWN, UNKNOWN
    return site_text, moment.strftime("%Y-%m-%d"), moment.strftime("%H")


offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))
stamps = st.one_of(
    moments.map(format_timestamp),
    st.builds(lambda m, tz: m.astimezone(tz).isoformat(), moments, offsets),
    st.sampled_from(["2026-11-21", "2026-11-21T08:30:15", "0999-01-01T23:00:00Z", "not a time", ""]),
    st.text(max_size=12),
)
sites = st.one_of(st.sampled_from(["site-a", "", "a b/c", "ü", "site=x&y"]), st.text(max_size=8), st.none())


@settings(max_examples=400, deadline=None)
@given(
    site=sites,
    stamp=st.one_of(stamps, st.none(), st.integers()),
    field=st.sampled_from(["scored_at", "recorded_at"]),
)
def test_the_partition_is_the_strftime_one(site: Any, stamp: Any, field: str) -> None:
    record = {"site_id": site, field: stamp}
    assert partition_of(record) == strftime_partition(record)


def test_a_demo_insight_lands_in_its_utc_hour() -> None:
    record = {"site_id": "site a", "scored_at": "2026-11-21T00:30:15.000000+01:00"}
    assert partition_of(record) == ("site%20a", "2026-11-20", "23")
