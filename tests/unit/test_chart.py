"""The chart's geometry: hour-centred points, lines broken at missing hours, round ticks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from edgeloop.domain.counter_stats import HourlyRate
from global_app.chart import LEFT, PALETTE, RIGHT, WIDTH, anomaly_rate_chart

T0 = datetime(2026, 11, 21, 0, tzinfo=UTC)
H = timedelta(hours=1)


def rates(site: str, hours: list[int], anomalies: int = 1, scored: int = 10) -> list[HourlyRate]:
    return [HourlyRate(site, T0 + h * H, scored, anomalies) for h in hours]


def runs(path: str) -> list[list[tuple[float, float]]]:
    """The path's sub-paths, as lists of points."""
    result: list[list[tuple[float, float]]] = []
    for command, x, y in re.findall(r"([ML])([\d.]+) ([\d.]+)", path):
        if command == "M":
            result.append([])
        result[-1].append((float(x), float(y)))
    return result


def test_a_single_hour_is_one_lone_marker_at_the_middle_of_its_hour() -> None:
    chart = anomaly_rate_chart(rates("site-e2e", [21], anomalies=1, scored=5), None, None)
    (series,) = chart.series
    (marker,) = series.markers
    assert (chart.start, chart.end) == (T0 + 21 * H, T0 + 22 * H)
    assert marker.x == (LEFT + WIDTH - RIGHT) / 2  # the middle of the only hour
    assert marker.lone
    assert runs(series.path) == [[(marker.x, marker.y)]]  # no line: nothing to join
    assert [label for _, label in chart.y_ticks] == ["0%", "5%", "10%", "15%", "20%"]
    assert marker.y == chart.y_ticks[-1][0]  # 20 % sits on the top grid line
    assert [(label, detail) for _, label, detail in chart.x_ticks] == [("21:00", "11-21"), ("22:00", "")]
    assert [x for x, _, _ in chart.x_ticks] == [LEFT, WIDTH - RIGHT]
    assert marker.tip == "site-e2e 2026-11-21 21:00 UTC: 20.0% of 5"


def test_consecutive_hours_join_and_a_missing_hour_breaks_the_line() -> None:
    chart = anomaly_rate_chart(rates("a", [0, 1, 2, 4, 5, 7]), T0, T0 + 8 * H)
    (series,) = chart.series
    parts = runs(series.path)
    assert [len(part) for part in parts] == [3, 2, 1]  # 0-2, 4-5, 7: nothing across hours 3 and 6
    assert [m.lone for m in series.markers] == [False, False, False, False, False, True]
    assert series.missing_hours == 2
    hour_width = (WIDTH - RIGHT - LEFT) / 8
    xs = [x for part in parts for x, _ in part]
    assert xs == [round(LEFT + (h + 0.5) * hour_width, 1) for h in (0, 1, 2, 4, 5, 7)]


def test_sites_get_distinct_colour_shape_and_dash_for_ten_sites() -> None:
    data = [rate for n in range(10) for rate in rates(f"site-{n}", [0, 1], anomalies=n)]
    chart = anomaly_rate_chart(data, T0, T0 + 2 * H)
    assert [s.site_id for s in chart.series] == [f"site-{n}" for n in range(10)]
    assert len({s.colour for s in chart.series}) == 10
    assert len({(s.shape, s.dashed) for s in chart.series}) == 10  # told apart without colour
    assert chart.series[0].colour == PALETTE[0]


def test_a_ragged_range_is_widened_to_whole_hours_and_out_of_range_hours_are_ignored() -> None:
    data = rates("a", [-1, 0, 1]) + rates("b", [3])
    chart = anomaly_rate_chart(data, T0 + timedelta(minutes=20), T0 + timedelta(hours=2, minutes=5))
    assert (chart.start, chart.end) == (T0, T0 + 3 * H)
    assert [s.site_id for s in chart.series] == ["a"]
    assert len(chart.series[0].markers) == 2


def test_the_summary_names_range_scale_and_peak() -> None:
    data = rates("a", [0, 1], anomalies=1) + rates("b", [1], anomalies=3)
    chart = anomaly_rate_chart(data, T0, T0 + 2 * H)
    assert chart.description.startswith("Anomaly rate per hour of 2 sites, Sat 21 Nov 2026 00:00 to ")
    assert "(2 hours), on a scale from 0% to 30%" in chart.description
    assert "Highest: 30.0% at b, 2026-11-21 01:00 UTC" in chart.description
    a, b = chart.series
    assert (a.lowest.anomaly_rate, a.highest.anomaly_rate, a.latest.hour) == (0.1, 0.1, T0 + H)
    assert b.missing_hours == 1


def test_no_rates_is_an_empty_chart() -> None:
    chart = anomaly_rate_chart([], None, None)
    assert chart.empty
    assert chart.series == ()


def test_rates_all_outside_the_range_make_an_empty_chart() -> None:
    chart = anomaly_rate_chart(rates("a", [5, 6]), T0, T0 + 2 * H)
    assert chart.empty
    assert (chart.start, chart.end) == (T0, T0 + 2 * H)
