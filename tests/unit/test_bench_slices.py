"""bench/slices.py: the slice helpers the in-process benches share (what runs when; no timings asserted)."""

from __future__ import annotations

from itertools import groupby

from bench.slices import best_rates, median_ratio, paired_rates, rate, rotating


def test_rotating_hands_out_the_items_in_turn() -> None:
    run = rotating(lambda item: item * 2, [1, 2, 3])
    assert sorted(run() for _ in range(3)) == [2, 4, 6]
    assert [run() for _ in range(3)] == [run() for _ in range(3)]  # the same cycle again


def test_paired_slices_alternate_which_side_goes_first_and_settle_after_each_pair() -> None:
    calls: list[str] = []
    off, on = paired_rates(
        lambda: calls.append("off"), lambda: calls.append("on"), 10, 0.004, 4, lambda: calls.append("|")
    )
    assert (len(off), len(on)) == (4, 4)
    assert all(value > 0 for value in off + on)
    slices = [side for side, _ in groupby(calls)]  # a slice's many calls as one
    assert "".join(s[:2] for s in slices) == "ofon|ofon|onof|ofon|onof|"


def test_best_rates_warms_each_run_and_keeps_every_runs_best_slice() -> None:
    calls: list[str] = []
    best = best_rates({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 8, 0.004, 2)
    assert set(best) == {"a", "b"}
    assert all(value > 0 for value in best.values())
    assert [side for side, _ in groupby(calls)] == ["a", "b", "a", "b", "a", "b"]


def test_the_ratio_is_the_median_of_the_pairs_and_a_rate_counts_what_each_call_handles() -> None:
    assert median_ratio([10.0, 10.0, 20.0], [5.0, 20.0, 30.0]) == 1.5
    assert rate(lambda: None, 1000, 0.001) > 0
