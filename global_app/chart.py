"""The anomaly-rate chart, laid out server-side as SVG geometry (no JavaScript, no CDN).

Each site's hours are points at the middle of their hour, joined by a line while the
hours are consecutive; an hour without data breaks the line (nothing is drawn across a
gap, so a lone hour is a lone marker). Sites differ by colour, marker shape and dashing,
so none is told apart by colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edgeloop.domain.counter_stats import HourlyRate
from global_app.chart_axes import HOUR, ceil_hour, floor_hour, rate_ticks, time_ticks

WIDTH, HEIGHT = 760, 280
# Rate labels sit inside the plot above their grid line; the margins hold the two-line
# time labels and half a label's width at each end, at the phone font size too.
LEFT, RIGHT, TOP, BOTTOM = 34, 34, 26, 56
MARKER_MAX, MARKER_MIN = 3.5, 1.5  # radius; markers shrink when hours get narrow
LONE_MARKER, LEGEND_MARKER = 5.0, 4.0
# Okabe-Ito without yellow (too pale on white), then three dark hues of Paul Tol's "muted".
PALETTE = (
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00",
    "#56b4e9", "#000000", "#882255", "#999933", "#332288",
)  # fmt: skip
SHAPES = ("circle", "square", "triangle", "diamond", "triangle-down")


@dataclass(frozen=True, slots=True)
class Marker:
    x: float
    y: float
    tip: str
    lone: bool  # no data the hour before nor after: drawn full size, as no line leads to it


@dataclass(frozen=True, slots=True)
class Series:
    site_id: str
    colour: str
    shape: str  # one of SHAPES
    dashed: bool
    path: str  # SVG path data: one "M … L …" run per stretch of consecutive hours
    markers: tuple[Marker, ...]
    missing_hours: int  # hours of the chart without data from this site
    lowest: HourlyRate
    highest: HourlyRate
    latest: HourlyRate
    outline: str  # relative path data of the marker, drawn from each point (see marker_outline)
    lone_outline: str
    key_outline: str  # at legend size

    @property
    def hours(self) -> int:
        return len(self.markers)

    @property
    def latest_rate(self) -> float:
        return self.latest.anomaly_rate


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    series: tuple[Series, ...]
    y_ticks: tuple[tuple[float, str], ...]  # y, label
    x_ticks: tuple[tuple[float, str, str], ...]  # x, label, second line
    plot: tuple[int, int, int, int]  # left, top, right, bottom
    empty: bool
    start: datetime | None = None  # whole hours the x axis spans
    end: datetime | None = None
    description: str = ""


def anomaly_rate_chart(rates: list[HourlyRate], start: datetime | None, end: datetime | None) -> Chart:
    plot = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    if not rates:
        return Chart(WIDTH, HEIGHT, (), (), (), plot, empty=True, start=start, end=end)
    first = floor_hour(start or min(r.hour for r in rates))
    last = max(ceil_hour(end or max(r.hour for r in rates) + HOUR), first + HOUR)
    hours = (last - first) // HOUR
    hour_width = (plot[2] - LEFT) / hours
    ticks = rate_ticks(max(r.anomaly_rate for r in rates))
    y_scale = (plot[3] - TOP) / ticks[-1].value

    by_site: dict[str, list[tuple[int, HourlyRate]]] = {}
    for rate in rates:
        index = (rate.hour - first) // HOUR
        if 0 <= index < hours:  # the store answers for the asked range; this guards the geometry
            by_site.setdefault(rate.site_id, []).append((index, rate))
    layout = _Layout(first, hours, hour_width, plot[3], y_scale)
    series = tuple(
        layout.series(number, site, sorted(points, key=lambda item: item[0]))
        for number, (site, points) in enumerate(sorted(by_site.items()))
    )
    if not series:
        return Chart(WIDTH, HEIGHT, (), (), (), plot, empty=True, start=first, end=last)
    return Chart(
        WIDTH,
        HEIGHT,
        series,
        tuple((layout.y(tick.value), tick.label) for tick in ticks),
        tuple(
            (round(LEFT + (tick.at - first) / HOUR * hour_width, 1), tick.label, tick.detail)
            for tick in time_ticks(first, last)
        ),
        plot,
        empty=False,
        start=first,
        end=last,
        description=describe(series, first, last, ticks[-1].label),
    )


class _Layout:
    """Hours and rates to SVG coordinates; hour names are formatted once per hour, not per site."""

    def __init__(self, first: datetime, hours: int, hour_width: float, bottom: int, y_scale: float) -> None:
        self.first, self.hours, self.hour_width = first, hours, hour_width
        self.bottom, self.y_scale = bottom, y_scale
        self.hour_names: dict[int, str] = {}
        self.marker_size = min(MARKER_MAX, max(MARKER_MIN, hour_width * 0.35))

    def y(self, rate: float) -> float:
        return round(self.bottom - rate * self.y_scale, 1)

    def hour_name(self, index: int) -> str:
        name = self.hour_names.get(index)
        if name is None:
            name = self.hour_names[index] = f"{self.first + index * HOUR:%Y-%m-%d %H}:00"
        return name

    def series(self, number: int, site: str, points: list[tuple[int, HourlyRate]]) -> Series:
        """One site's line and markers; ``points`` sorted by hour index."""
        commands, markers = [], []
        indexes = [index for index, _ in points]
        for position, (index, rate) in enumerate(points):
            value = rate.anomaly_rate
            x, y = round(LEFT + (index + 0.5) * self.hour_width, 1), self.y(value)
            joined = position > 0 and indexes[position - 1] == index - 1
            lone = not joined and (position + 1 == len(points) or indexes[position + 1] != index + 1)
            commands.append(f"{'L' if joined else 'M'}{x} {y}")
            tip = f"{site} {self.hour_name(index)} UTC: {value:.1%} of {rate.scored:,}"
            markers.append(Marker(x, y, tip, lone))
        by_rate = sorted((rate for _, rate in points), key=lambda r: r.anomaly_rate)
        shape = SHAPES[number % len(SHAPES)]
        return Series(
            site_id=site,
            colour=PALETTE[number % len(PALETTE)],
            shape=shape,
            dashed=number % (2 * len(SHAPES)) >= len(SHAPES),
            path=" ".join(commands),
            markers=tuple(markers),
            missing_hours=self.hours - len(points),
            lowest=by_rate[0],
            highest=by_rate[-1],
            latest=points[-1][1],
            outline=marker_outline(shape, self.marker_size),
            lone_outline=marker_outline(shape, LONE_MARKER),
            key_outline=marker_outline(shape, LEGEND_MARKER),
        )


def marker_outline(shape: str, size: float) -> str:
    """Relative SVG path data of a marker about ``size`` in radius, to append to ``M x y`` at its centre.

    One <path> per marker (not <use> of a symbol: Chromium paints a thousand uses markedly slower).
    """

    def n(value: float) -> str:
        return f"{round(value, 2):g}"

    s = size
    outlines = {
        "circle": f"m{n(-s)} 0a{n(s)} {n(s)} 0 1 0 {n(2 * s)} 0a{n(s)} {n(s)} 0 1 0 {n(-2 * s)} 0z",
        "square": f"m{n(-0.9 * s)} {n(-0.9 * s)}h{n(1.8 * s)}v{n(1.8 * s)}h{n(-1.8 * s)}z",
        "triangle": f"m0 {n(-1.3 * s)}l{n(1.15 * s)} {n(2 * s)}h{n(-2.3 * s)}z",
        "diamond": f"m0 {n(-1.25 * s)}l{n(1.25 * s)} {n(1.25 * s)}l{n(-1.25 * s)} {n(1.25 * s)}"
        f"l{n(-1.25 * s)} {n(-1.25 * s)}z",
        "triangle-down": f"m0 {n(1.3 * s)}l{n(1.15 * s)} {n(-2 * s)}h{n(-2.3 * s)}z",
    }
    return outlines[shape]


def describe(series: tuple[Series, ...], start: datetime, end: datetime, top_label: str) -> str:
    """What the chart shows, in words: the SVG's <desc>, for screen readers."""
    peak = max((s.highest for s in series), key=lambda r: r.anomaly_rate)
    sites, hours = len(series), (end - start) // HOUR
    return (
        f"Anomaly rate per hour of {sites} site{'s' if sites != 1 else ''}, "
        f"{start:%a %d %b %Y %H:%M} to {end:%a %d %b %Y %H:%M} UTC ({hours} hours), "
        f"on a scale from 0% to {top_label}. Highest: {peak.anomaly_rate:.1%} at {peak.site_id}, "
        f"{peak.hour:%Y-%m-%d %H}:00 UTC. A line breaks where a site sent nothing for an hour."
    )
