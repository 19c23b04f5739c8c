"""A site's history charts (backlog, relay lag, errors, anomaly rate), laid out server-side as SVG.

One series per chart: a point per status (or per hour), joined by a line; a gap longer than
``GAP_FACTOR`` times the usual spacing breaks the line, so an outage shows as a gap rather than a
straight line across it. Axes reuse the dashboard's ticks (global_app/chart_axes.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from statistics import median

from global_app.chart_axes import HOUR, ceil_hour, floor_hour, nice_step, time_ticks

WIDTH, HEIGHT = 760, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 20, 16, 44
GAP_FACTOR = 3.0
Point = tuple[datetime, float]


@dataclass(frozen=True, slots=True)
class LineChart:
    name: str  # the element id's stem
    title: str
    unit: str
    width: int
    height: int
    path: str  # SVG path data: one "M … L …" run per stretch without a gap
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str, str], ...]
    plot: tuple[int, int, int, int]
    points: int
    dots: tuple[tuple[float, float], ...]  # points no line leads to (a lone report): drawn as dots
    latest: float | None
    highest: float | None
    description: str

    @property
    def empty(self) -> bool:
        return self.points == 0


def _value_ticks(highest: float, intervals: int = 4) -> list[float]:
    if highest <= 0:
        return [0.0, 1.0]
    mantissa, exponent = nice_step(highest / intervals)
    step = mantissa * 10.0**exponent
    return [i * step for i in range(math.ceil(highest / step * (1 - 1e-9)) + 1)]


def _label(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:g}%"
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:g}"


def line_chart(name: str, title: str, unit: str, points: Sequence[Point]) -> LineChart:
    """``points`` in time order; ``unit`` "%" reads values as shares (0..1)."""
    plot = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    if not points:
        return LineChart(
            name, title, unit, WIDTH, HEIGHT, "", (), (), plot, 0, (), None, None, f"{title}: no data."
        )
    first, last = floor_hour(points[0][0]), max(ceil_hour(points[-1][0]), floor_hour(points[0][0]) + HOUR)
    span = (last - first).total_seconds()
    highest = max(value for _, value in points)
    ticks = _value_ticks(highest)
    y_scale = (plot[3] - TOP) / ticks[-1]

    def x(moment: datetime) -> float:
        return round(LEFT + (moment - first).total_seconds() / span * (plot[2] - LEFT), 1)

    def y(value: float) -> float:
        return round(plot[3] - value * y_scale, 1)

    gaps = [(b[0] - a[0]).total_seconds() for a, b in pairwise(points)]
    longest = median(gaps) * GAP_FACTOR if gaps else 0.0
    joined = [gap <= longest for gap in gaps]  # joined[k]: point k+1 is joined to point k
    commands = [f"M{x(points[0][0])} {y(points[0][1])}"]
    for linked, (moment, value) in zip(joined, points[1:], strict=True):
        commands.append(f"{'L' if linked else 'M'}{x(moment)} {y(value)}")
    dots = tuple(
        (x(moment), y(value))
        for k, (moment, value) in enumerate(points)
        if not (k > 0 and joined[k - 1]) and not (k < len(joined) and joined[k])
    )
    return LineChart(
        name=name,
        title=title,
        unit=unit,
        width=WIDTH,
        height=HEIGHT,
        path=" ".join(commands),
        y_ticks=tuple((y(tick), _label(tick, unit)) for tick in ticks),
        x_ticks=tuple((x(tick.at), tick.label, tick.detail) for tick in time_ticks(first, last)),
        plot=plot,
        points=len(points),
        dots=dots,
        latest=points[-1][1],
        highest=highest,
        description=(
            f"{title}, {len(points)} points from {points[0][0]:%Y-%m-%d %H:%M} to "
            f"{points[-1][0]:%Y-%m-%d %H:%M} UTC; highest {_label(highest, unit)}, "
            f"latest {_label(points[-1][1], unit)}. A line breaks where reports stopped for a while."
        ),
    )
