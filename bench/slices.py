"""Timed slices for the in-process benches: a run's rate over a slice, interleaved rounds of
several runs (each one's best), and pairs of slices (a path off and on, the order alternating).

A bench compares ways of doing the same work in one sitting (ratios, not absolute figures); the
slices interleave so that a shared machine's load falls on every side alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from statistics import median
from typing import Any, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


def calls_per_s(run: Callable[[], Any], seconds: float) -> float:
    """How many times a second ``run`` completes, calling it over and over for ``seconds`` (once at least)."""
    calls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        run()
        calls += 1
    return calls / (time.perf_counter() - started)


def rate(run: Callable[[], Any], per_call: int, seconds: float) -> float:
    """Rows (or frames) a second, ``run`` handling ``per_call`` of them a call."""
    return calls_per_s(run, seconds) * per_call


def rotating(call: Callable[[Item], Answer], items: Sequence[Item]) -> Callable[[], Answer]:
    """A run that hands ``call`` the next of ``items`` each time (the same batches, in turn)."""
    turn = [0]

    def run() -> Answer:
        turn[0] = (turn[0] + 1) % len(items)
        return call(items[turn[0]])

    return run


def best_rates(
    runs: Mapping[str, Callable[[], Any]], per_call: int, seconds: float, rounds: int
) -> dict[str, float]:
    """Each run warmed once (first runs allocate), then ``rounds`` interleaved slices of
    ``seconds / rounds``; each run's best slice (a shared machine's noise only slows)."""
    for run in runs.values():
        run()
    best = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for key, run in runs.items():
            best[key] = max(best[key], rate(run, per_call, seconds / rounds))
    return best


def paired_rates(
    off: Callable[[], Any],
    on: Callable[[], Any],
    per_call: int,
    seconds: float,
    rounds: int,
    settle: Callable[[], Any] = lambda: None,
) -> tuple[list[float], list[float]]:
    """Both warmed once, then ``rounds`` pairs of slices of ``seconds / rounds / 2``: a pair's two
    slices close in time (a shared machine's load hits both), off first in one pair and on first
    in the next (whichever goes second gains nothing). ``settle`` runs after the warm-up and after
    each pair (e.g. a worker's backlog drained). The off and the on rates, pair by pair."""
    off(), on()
    settle()
    rates: dict[str, list[float]] = {"off": [], "on": []}
    runs = {"off": off, "on": on}
    for index in range(rounds):
        for side in ("off", "on") if index % 2 == 0 else ("on", "off"):
            rates[side].append(rate(runs[side], per_call, seconds / rounds / 2))
        settle()
    return rates["off"], rates["on"]


def median_ratio(off: Sequence[float], on: Sequence[float]) -> float:
    """The median of the pairs' on / off."""
    return median(on_rate / off_rate for on_rate, off_rate in zip(on, off, strict=True))
