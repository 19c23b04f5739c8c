"""Drift statistics the plain way: the oracle of edgeloop.domain.drift and drift_window.

A loop per value and per bin, a deque for the window; slow on purpose. The fast versions
(numpy searchsorted/bincount, scipy's KS, the ring buffer) must give the same numbers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any

FLOOR = 1e-4  # the same floor as edgeloop.domain.drift.PSI_FLOOR, written out


def reference_bin_counts(edges: Sequence[float], values: Sequence[float]) -> list[int]:
    counts = [0] * (len(edges) + 1)
    for value in values:
        index = 0
        while index < len(edges) and value >= edges[index]:
            index += 1
        counts[index] += 1
    return counts


def reference_psi(expected: Sequence[float], counts: Sequence[int]) -> float:
    total = sum(counts)
    if total == 0:
        return 0.0
    result = 0.0
    for share, count in zip(expected, counts, strict=True):
        actual, reference = max(count / total, FLOOR), max(share, FLOOR)
        result += (actual - reference) * math.log(actual / reference)
    return result


def reference_ks(first: Sequence[float], second: Sequence[float]) -> float:
    """The largest gap between the two empirical CDFs, looked for at every value of either."""
    gap = 0.0
    for point in [*first, *second]:
        below_first = sum(1 for value in first if value <= point) / len(first)
        below_second = sum(1 for value in second if value <= point) / len(second)
        gap = max(gap, abs(below_first - below_second))
    return gap


class ReferenceWindow:
    """The last ``capacity`` rows, a deque per feature."""

    def __init__(self, names: Sequence[str], capacity: int) -> None:
        self._rows: dict[str, deque[Any]] = {name: deque(maxlen=capacity) for name in names}

    def record(self, columns: dict[str, Sequence[Any]]) -> None:
        for name, rows in self._rows.items():
            rows.extend(columns[name])

    def values(self, name: str) -> list[Any]:
        return list(self._rows[name])
