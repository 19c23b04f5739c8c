"""Axis ticks of the dashboard chart: nice rate steps, round UTC times."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from global_app.chart_axes import nice_step, rate_ticks, time_ticks

H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("raw", "step"),
    [
        (0.04, (5.0, -2)),
        (0.05, (5.0, -2)),  # exact, not rounded up to 0.1
        (0.1, (1.0, -1)),
        (0.011, (2.0, -2)),
        (0.021, (2.5, -2)),
        (0.026, (5.0, -2)),
        (0.051, (1.0, -1)),
        (0.3, (5.0, -1)),
        (7.0, (1.0, 1)),
    ],
)
def test_nice_step_is_the_smallest_of_1_2_2_5_5_times_a_power_of_ten(
    raw: float, step: tuple[float, int]
) -> None:
    assert nice_step(raw) == step


@pytest.mark.parametrize("raw", [0.0, -0.1, math.inf, math.nan])
def test_nice_step_refuses_what_has_no_step(raw: float) -> None:
    with pytest.raises(ValueError, match="positive finite"):
        nice_step(raw)


@pytest.mark.parametrize(
    ("highest", "labels"),
    [
        (0.2, ["0%", "5%", "10%", "15%", "20%"]),  # the screenshot's 20 %: no 22 %, 17 %, 11 %, 6 %
        (0.22, ["0%", "5%", "10%", "15%", "20%", "25%"]),
        (0.0, ["0%", "1%", "2%", "3%", "4%", "5%"]),  # all quiet: the 5 % floor still gives an axis
        (0.12, ["0%", "2.5%", "5.0%", "7.5%", "10.0%", "12.5%"]),
        (1.0, ["0%", "20%", "40%", "60%", "80%", "100%"]),
        (1.1, ["0%", "25%", "50%", "75%", "100%", "125%"]),  # a 25 % step needs no decimals
    ],
)
def test_rate_ticks_are_round_and_cover_the_highest_rate(highest: float, labels: list[str]) -> None:
    assert [tick.label for tick in rate_ticks(highest)] == labels


def test_small_rates_get_decimals_as_the_step_needs() -> None:
    ticks = rate_ticks(0.011, floor=0.001)
    assert [t.label for t in ticks] == ["0%", "0.25%", "0.50%", "0.75%", "1.00%", "1.25%"]


@given(st.floats(min_value=0.0, max_value=1.0))
def test_rate_ticks_properties(highest: float) -> None:
    ticks = rate_ticks(highest)
    values = [tick.value for tick in ticks]
    step = values[1]
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    assert values[0] == 0
    assert values[-1] >= highest
    assert values[-2] < max(highest, 0.05)  # the top tick is the first one covering the data
    assert 2 <= len(values) - 1 <= 5
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))
    assert all(math.isclose(b - a, step) for a, b in pairwise(values))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_two_days_tick_every_six_hours_with_the_date_at_midnight() -> None:
    ticks = time_ticks(at("2024-05-01T12:00"), at("2024-05-03T12:00"))
    assert [t.label for t in ticks] == [
        "12:00", "18:00", "00:00", "06:00", "12:00", "18:00", "00:00", "06:00", "12:00"
    ]  # fmt: skip
    assert [t.detail for t in ticks] == ["05-01", "", "05-02", "", "", "", "05-03", "", ""]


def test_one_hour_ticks_at_its_two_boundaries() -> None:
    ticks = time_ticks(at("2026-11-21T21:00"), at("2026-11-21T22:00"))
    assert [(t.at, t.label, t.detail) for t in ticks] == [
        (at("2026-11-21T21:00"), "21:00", "11-21"),
        (at("2026-11-21T22:00"), "22:00", ""),
    ]


def test_ticks_start_at_the_first_round_time_inside_the_range() -> None:
    ticks = time_ticks(at("2024-05-01T13:00"), at("2024-05-03T13:00"))
    assert ticks[0].at == at("2024-05-01T18:00")
    assert ticks[-1].at == at("2024-05-03T12:00")


def test_a_week_ticks_every_midnight_with_the_weekday() -> None:
    ticks = time_ticks(at("2026-11-16T00:00"), at("2026-11-23T00:00"))
    assert [t.label for t in ticks] == [f"11-{d}" for d in range(16, 24)]
    assert [t.detail for t in ticks][:3] == ["Mon", "Tue", "Wed"]


def test_long_ranges_tick_on_mondays() -> None:
    ticks = time_ticks(at("2024-04-01T00:00"), at("2024-06-30T00:00"))
    assert len(ticks) <= 9
    assert all(t.at.weekday() == 0 and t.at.hour == 0 for t in ticks)
    assert {b.at - a.at for a, b in pairwise(ticks)} == {timedelta(weeks=2)}


@given(
    st.integers(min_value=0, max_value=24 * 365 * 20),
    st.integers(min_value=1, max_value=24 * 400),
)
def test_time_ticks_properties(offset_hours: int, span_hours: int) -> None:
    first = at("2020-01-01T00:00") + offset_hours * H
    last = first + span_hours * H
    ticks = time_ticks(first, last)
    assert 1 <= len(ticks) <= 9
    assert all(first <= t.at <= last and t.at.minute == 0 for t in ticks)
    gaps = {b.at - a.at for a, b in pairwise(ticks)}
    assert len(gaps) <= 1
    if gaps and gaps.pop() >= timedelta(days=1):
        assert all(t.at.hour == 0 for t in ticks)  # day and week steps fall on midnight
