"""A site's history chart (global_app/fleet_chart.py): lines break at outages, lone reports show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from global_app.fleet_chart import line_chart

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def every_30s(start: datetime, count: int, value: float = 5.0) -> list[tuple[datetime, float]]:
    return [(start + timedelta(seconds=30 * n), value) for n in range(count)]


def test_steady_reports_make_one_line_over_whole_hours() -> None:
    chart = line_chart("backlog", "Backlog", "records", every_30s(T0 + timedelta(minutes=5), 20))
    assert chart.path.count("M") == 1
    assert chart.path.count("L") == 19
    assert chart.dots == ()
    assert chart.x_ticks[0][1] == "09:00"  # the axis starts at the whole hour
    assert [label for _, label in chart.y_ticks] == ["0", "2", "4", "6"]  # round steps, the top covers 5


def test_an_outage_breaks_the_line_and_a_lone_report_is_a_dot() -> None:
    points = [
        *every_30s(T0, 10),
        (T0 + timedelta(minutes=40), 9.0),
        *every_30s(T0 + timedelta(minutes=70), 4),
    ]
    chart = line_chart("backlog", "Backlog", "records", points)
    assert chart.path.count("M") == 3  # the first stretch, the lone report, the stretch after
    assert len(chart.dots) == 1
    assert chart.highest == 9.0
    assert "A line breaks" in chart.description


def test_no_points_is_an_empty_chart() -> None:
    chart = line_chart("lag", "Relay lag", "s", [])
    assert chart.empty
    assert chart.path == ""


def test_shares_read_as_percentages() -> None:
    chart = line_chart("rate", "Anomaly rate", "%", [(T0, 0.1), (T0 + timedelta(hours=1), 0.2)])
    assert [label for _, label in chart.y_ticks] == ["0%", "5%", "10%", "15%", "20%"]
