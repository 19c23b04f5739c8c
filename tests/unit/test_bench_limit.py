"""Figure 2's neighbour: ours as a share of the HTTP stack's limit, from the same interleaved slices."""

from __future__ import annotations

import pytest

from bench.measure import Drain
from bench.serving_figures import Runs, limit_figure, serving_figures
from bench.wrk import WrkResult


def slice_of(requests: int, seconds: float = 1.0, p99_ms: float = 3.0, non_2xx: int = 0) -> WrkResult:
    return WrkResult(requests, seconds, non_2xx, 0, 1.0, 2.0, p99_ms, 4.0)


def single_row_runs(limit: list[WrkResult]) -> dict[str, list[object]]:
    return {
        "on": [slice_of(4_000), slice_of(5_000)],
        "off": [slice_of(4_000), slice_of(4_000)],
        "naive": [slice_of(2_000), slice_of(2_500)],
        "limit": limit,
    }


def test_the_limit_figure_is_ours_over_the_bare_apps_rate_with_the_slices_range() -> None:
    runs = Runs(single_row_runs([slice_of(25_000), slice_of(20_000, seconds=0.5)]))
    figure = limit_figure(runs, fixed_body_bytes=1_234)
    # Rates are all slices' requests over all their seconds: 9,000 / 2 s against 45,000 / 1.5 s.
    assert figure.value == pytest.approx(4_500 / 30_000)
    assert figure.unit == "x"
    assert figure.met is None  # context, not a target
    assert figure.shown_value() == "0.15x"
    # Adjacent slices: 4,000 / 25,000 and 5,000 / 40,000.
    assert figure.detail.endswith("slices 0.12-0.16")
    assert "ours 4,500 req/s vs a bare ASGI app 30,000 req/s" in figure.detail
    assert "fixed 1,234-byte body" in figure.detail
    assert figure.note == ""


def test_errors_in_the_limits_slices_make_the_figure_invalid() -> None:
    runs = Runs(single_row_runs([slice_of(25_000), slice_of(25_000, non_2xx=7)]))
    assert limit_figure(runs, fixed_body_bytes=100).note == "INVALID: 7 non-2xx responses, 0 socket errors"


def test_the_limit_is_the_row_beside_ours_over_naive() -> None:
    raw = single_row_runs([slice_of(25_000), slice_of(25_000)]) | {
        "batch": [slice_of(70), slice_of(70)],
        "batch:after": [Drain(0.1, 0.0), Drain(0.1, 0.0)],
        "batch-off": [slice_of(90), slice_of(90)],
        "inprocess": [250_000.0, 250_000.0],
    }
    memory: dict[str, float | None] = {"on": 150.0, "naive": 97.0, "peer": None}
    figures = serving_figures(raw, memory, "", fixed_body_bytes=300)
    keys = [figure.key for figure in figures]
    assert keys == [
        "batch",
        "single",
        "single-limit",
        "single-p99",
        "peer-single",
        "peer-batch",
        "insights-cost",
        "memory",
    ]
    assert figures[1].value == pytest.approx(4_500 / 2_250)
    assert figures[2].value == pytest.approx(4_500 / 25_000)
