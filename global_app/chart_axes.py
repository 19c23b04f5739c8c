"""Axis ticks of the anomaly-rate chart: round rates on y, whole hours or days on x.

Rates get "nice" steps (1, 2, 2.5 or 5 times 10^k) from zero up to the first tick at or
above the highest rate, so the top grid line always covers the data. Times get steps of
whole hours that divide a day, or whole days or weeks, aligned on UTC midnight (weeks on
Mondays) so the labels read as round clock times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

NICE_MANTISSAS = (1.0, 2.0, 2.5, 5.0)
HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a Thursday, at midnight
FIRST_MONDAY_HOURS = 96  # 1970-01-05T00:00Z, where week steps are aligned
HOUR_STEPS = (1, 2, 3, 6, 12, 24, 48, 168)  # divisors of a day, then days, then a week
WEEK_HOURS = 168


@dataclass(frozen=True, slots=True)
class RateTick:
    value: float
    label: str


@dataclass(frozen=True, slots=True)
class TimeTick:
    at: datetime
    label: str
    detail: str  # a second line: the date under hour ticks, the weekday under day ticks, or ""


def nice_step(raw: float) -> tuple[float, int]:
    """The smallest step m * 10^k >= ``raw`` with m in 1, 2, 2.5, 5, as (m, k)."""
    if not raw > 0 or math.isinf(raw):
        raise ValueError(f"a step must be a positive finite number, got {raw!r}")
    exponent = math.floor(math.log10(raw))
    for mantissa in NICE_MANTISSAS:
        # The tolerance keeps 0.05 from becoming 0.1 when log10 rounds just under -1.3.
        if mantissa * 10.0**exponent >= raw * (1 - 1e-9):
            return mantissa, exponent
    return 1.0, exponent + 1


def rate_ticks(highest: float, *, intervals: int = 5, floor: float = 0.05) -> tuple[RateTick, ...]:
    """Ticks from 0 % to the first nice multiple at or above ``highest`` (at least ``floor``).

    At most ``intervals`` steps; labels carry the decimals the step needs (2.5 % steps: one), zero none.
    """
    high = max(highest, floor)
    mantissa, exponent = nice_step(high / intervals)
    step = mantissa * 10.0**exponent
    count = math.ceil(high / step * (1 - 1e-9))
    percent_exponent = exponent + 2
    decimals = max(0, -percent_exponent + (1 if mantissa == 2.5 else 0))  # 2.5 %, but 25 %
    return tuple(
        RateTick(i * step, f"{i * mantissa * 10.0**percent_exponent:.{decimals}f}%" if i else "0%")
        for i in range(count + 1)
    )


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floored = floor_hour(moment)
    return floored if floored == moment else floored + HOUR


def time_step_hours(hours: float, max_intervals: int) -> int:
    for step in HOUR_STEPS:
        if hours / step <= max_intervals:
            return step
    return WEEK_HOURS * math.ceil(hours / WEEK_HOURS / max_intervals)


def time_ticks(first: datetime, last: datetime, *, max_intervals: int = 8) -> tuple[TimeTick, ...]:
    """Round ticks between two whole UTC hours, at most ``max_intervals`` steps apart."""
    start_hours = round((first - EPOCH) / HOUR)
    end_hours = round((last - EPOCH) / HOUR)
    step = time_step_hours(max(end_hours - start_hours, 1), max_intervals)
    origin = FIRST_MONDAY_HOURS if step % WEEK_HOURS == 0 else 0
    at_hours = start_hours + (origin - start_hours) % step
    ticks: list[TimeTick] = []
    while at_hours <= end_hours:  # bounded: at most max_intervals + 1 ticks
        at = EPOCH + at_hours * HOUR
        if step < 24:
            new_day = not ticks or at.hour == 0
            ticks.append(TimeTick(at, f"{at:%H:%M}", f"{at:%m-%d}" if new_day else ""))
        else:
            ticks.append(TimeTick(at, f"{at:%m-%d}", f"{at:%a}" if step < WEEK_HOURS else ""))
        at_hours += step
    return tuple(ticks)
