"""The anomaly-rate chart, laid out server-side as SVG geometry (no JavaScript, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edgeloop.domain.insights_view import HourlyRate

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 44, 12, 28  # room for the last x label
# Distinguishable colours (Okabe-Ito plus a few), cycled beyond ten sites.
PALETTE = (
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00",
    "#56b4e9", "#7f3c8d", "#3a8f3a", "#a0522d", "#555555",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Series:
    site_id: str
    colour: str
    points: str  # SVG polyline points
    dots: tuple[tuple[float, float, str], ...]  # x, y, tooltip
    latest_rate: float


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    series: tuple[Series, ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot: tuple[int, int, int, int]  # left, top, right, bottom
    empty: bool


def anomaly_rate_chart(rates: list[HourlyRate], start: datetime | None, end: datetime | None) -> Chart:
    plot = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    if not rates:
        return Chart(WIDTH, HEIGHT, (), (), (), plot, empty=True)
    first = start or min(r.hour for r in rates)
    last = end or max(r.hour for r in rates) + timedelta(hours=1)
    span = max((last - first).total_seconds(), 3600.0)
    top_rate = max(0.05, max(r.anomaly_rate for r in rates) * 1.1)

    def x(moment: datetime) -> float:
        return round(LEFT + (moment - first).total_seconds() / span * (plot[2] - LEFT), 1)

    def y(rate: float) -> float:
        return round(plot[3] - rate / top_rate * (plot[3] - TOP), 1)

    by_site: dict[str, list[HourlyRate]] = {}
    for rate in sorted(rates, key=lambda r: (r.site_id, r.hour)):
        by_site.setdefault(rate.site_id, []).append(rate)
    series = []
    for index, (site, points) in enumerate(sorted(by_site.items())):
        # Each point sits mid-hour: the rate is the hour's.
        coords = [(x(p.hour + timedelta(minutes=30)), y(p.anomaly_rate), p) for p in points]
        series.append(
            Series(
                site_id=site,
                colour=PALETTE[index % len(PALETTE)],
                points=" ".join(f"{cx},{cy}" for cx, cy, _ in coords),
                dots=tuple(
                    (cx, cy, f"{site} {p.hour:%Y-%m-%d %H}:00 UTC: {p.anomaly_rate:.1%} of {p.scored}")
                    for cx, cy, p in coords
                ),
                latest_rate=points[-1].anomaly_rate,
            )
        )
    y_ticks = tuple((y(top_rate * i / 4), f"{top_rate * i / 4:.0%}") for i in range(5))
    x_ticks = tuple(
        (x(first + (last - first) * i / 4), f"{first + (last - first) * i / 4:%m-%d %H:%M}") for i in range(5)
    )
    return Chart(WIDTH, HEIGHT, tuple(series), y_ticks, x_ticks, plot, empty=False)
