"""Figure 1 counts the relay's catching up after each slice as time the load took."""

from __future__ import annotations

import pytest

from bench.measure import Drain
from bench.serving_figures import Runs
from bench.wrk import WrkResult


def slice_of(requests: int, seconds: float) -> WrkResult:
    return WrkResult(requests, seconds, 0, 0, 1.0, 2.0, 3.0, 4.0)


RUNS = Runs(
    {
        "batch": [slice_of(100, 1.0), slice_of(300, 2.0)],
        # Wall seconds include the relay's idle pauses; only its CPU counts.
        "batch:after": [Drain(seconds=0.6, cpu_seconds=0.25), Drain(seconds=0.5, cpu_seconds=0.0)],
        "inprocess": [400_000.0, 400_000.0],
    }
)


def test_the_relays_cpu_after_a_slice_is_added_to_that_slices_time() -> None:
    assert RUNS.sustained_rates("batch", 1000) == pytest.approx([100_000 / 1.25, 300_000 / 2.0])
    assert RUNS.sustained_rate("batch", 1000) == pytest.approx(400_000 / 3.25)
    # The rate while the load ran ignores it.
    assert RUNS.rate("batch", 1000) == pytest.approx(400_000 / 3.0)


def test_the_spread_compares_sustained_slices_with_their_neighbours() -> None:
    assert RUNS.spread("batch", "inprocess", 1000, sustained=True) == "slices 0.20-0.38"
