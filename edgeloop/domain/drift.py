"""Drift of recent inputs against the training profile, per feature: PSI and KS. Pure (numpy, scipy).

A model's manifest may carry a training profile (its ``drift`` field, recorded when the
model is trained): per number feature the bin edges of its training quantiles with the
share of training rows in each bin, and a few quantiles; per category feature the share of
each category. Recent inputs are compared with it:

* ``psi`` (population stability index), for numbers over the profile's bins and for
  categories over the categories: ``sum((a - e) * ln(a / e))`` of the window's share ``a``
  and the training share ``e`` per bin, both floored at :data:`PSI_FLOOR` (an empty bin
  would otherwise be infinite). Thresholds by default 0.1 (watch) and 0.25 (drift).
* ``ks`` (Kolmogorov-Smirnov), numbers only: the largest gap between the window's
  empirical CDF and the training quantiles', by :func:`scipy.stats.ks_2samp`.
  Thresholds by default 0.1 (watch) and 0.2 (drift).

A value at or above ``drift`` is "drift", at or above ``watch`` "watch", else "ok"
(docs/drift.md says what each means).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

DriftStatus = Literal["ok", "watch", "drift"]
Statistic = Literal["psi", "ks"]
STATUS_ORDER: tuple[DriftStatus, ...] = ("ok", "watch", "drift")
PSI_FLOOR = 1e-4  # the smallest share a bin counts with: an empty bin costs about 0.001 x ln ratio
DEFAULT_BINS = 10
DEFAULT_QUANTILES = 51  # levels 0, 0.02, ..., 1: the KS reference, 0.02 apart


@dataclass(frozen=True, slots=True)
class Thresholds:
    watch: float
    drift: float

    def status(self, value: float) -> DriftStatus:
        if value >= self.drift:
            return "drift"
        return "watch" if value >= self.watch else "ok"


DEFAULT_THRESHOLDS: Mapping[Statistic, Thresholds] = {
    "psi": Thresholds(0.1, 0.25),
    "ks": Thresholds(0.1, 0.2),
}


@dataclass(frozen=True, slots=True)
class NumberProfile:
    """A number feature in training: bins (``edges`` inside, ``len(edges) + 1`` shares) and quantiles.

    Bin ``i`` holds ``edges[i - 1] <= x < edges[i]`` (the first and last are open-ended).
    """

    statistic: Statistic
    edges: tuple[float, ...]
    proportions: tuple[float, ...]
    quantiles: tuple[float, ...]
    thresholds: Thresholds

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "number",
            "statistic": self.statistic,
            "edges": list(self.edges),
            "proportions": list(self.proportions),
            "quantiles": list(self.quantiles),
            "watch": self.thresholds.watch,
            "drift": self.thresholds.drift,
        }


@dataclass(frozen=True, slots=True)
class CategoryProfile:
    """A category feature in training: the share of each category (absent ones: 0)."""

    proportions: Mapping[str, float]
    thresholds: Thresholds
    statistic: Statistic = "psi"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "category",
            "statistic": self.statistic,
            "proportions": dict(self.proportions),
            "watch": self.thresholds.watch,
            "drift": self.thresholds.drift,
        }


FeatureProfile = NumberProfile | CategoryProfile


@dataclass(frozen=True, slots=True)
class DriftProfile:
    """The manifest's ``drift``: the profiled features and how many training rows they summarise."""

    features: Mapping[str, FeatureProfile]
    profiled_rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "profiled_rows": self.profiled_rows,
            "features": [{"name": name, **profile.to_dict()} for name, profile in self.features.items()],
        }


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    statistic: Statistic
    value: float
    threshold: float  # the drift threshold
    status: DriftStatus

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "value": self.value,
            "threshold": self.threshold,
            "status": self.status,
        }


def bin_counts(edges: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """How many ``values`` fall in each of the ``len(edges) + 1`` bins."""
    indices = np.searchsorted(edges, values, side="right")
    return np.bincount(indices, minlength=edges.size + 1).astype(np.int64)


def psi(expected: npt.NDArray[np.float64], counts: npt.NDArray[np.int64]) -> float:
    """The population stability index of ``counts`` against the ``expected`` shares (same bins)."""
    total = int(counts.sum())
    if total == 0:
        return 0.0
    actual = np.maximum(counts / total, PSI_FLOOR)
    reference = np.maximum(expected, PSI_FLOOR)
    return float(np.sum((actual - reference) * np.log(actual / reference)))


def ks_statistic(values: npt.NDArray[np.float64], quantiles: npt.NDArray[np.float64]) -> float:
    """The two-sample KS statistic of ``values`` against the training quantiles (scipy)."""
    if values.size == 0:
        return 0.0
    # Imported here: scipy.stats takes seconds to import, and most profiles never use KS.
    from scipy import stats

    # asymp: the p-value is not used, and the exact one costs far more than the statistic
    return float(stats.ks_2samp(values, quantiles, method="asymp").statistic)


def number_drift(profile: NumberProfile, values: npt.NDArray[np.float64]) -> FeatureDrift:
    if profile.statistic == "ks":
        value = ks_statistic(values, np.asarray(profile.quantiles, dtype=np.float64))
    else:
        counts = bin_counts(np.asarray(profile.edges, dtype=np.float64), values)
        value = psi(np.asarray(profile.proportions, dtype=np.float64), counts)
    return _judged(profile.statistic, value, profile.thresholds)


def category_counts(categories: tuple[str, ...], values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Counts per category in ``categories`` order, then one for any other value."""
    by_name: dict[str, int] = {}
    if values.size:
        found, found_counts = np.unique(values.astype(str), return_counts=True)
        by_name = dict(zip(found.tolist(), found_counts.tolist(), strict=True))
    known = [int(by_name.pop(name, 0)) for name in categories]
    return np.array([*known, int(sum(by_name.values()))], dtype=np.int64)


def category_drift(profile: CategoryProfile, values: npt.NDArray[Any]) -> FeatureDrift:
    categories = tuple(profile.proportions)
    expected = np.array([*profile.proportions.values(), 0.0], dtype=np.float64)
    value = psi(expected, category_counts(categories, values))
    return _judged("psi", value, profile.thresholds)


def feature_drift(profile: FeatureProfile, values: npt.NDArray[Any]) -> FeatureDrift:
    if isinstance(profile, NumberProfile):
        return number_drift(profile, values)
    return category_drift(profile, values)


def _judged(statistic: Statistic, value: float, thresholds: Thresholds) -> FeatureDrift:
    value = round(value, 6)
    return FeatureDrift(statistic, value, thresholds.drift, thresholds.status(value))


def worst_status(statuses: list[DriftStatus]) -> DriftStatus:
    return max(statuses, key=STATUS_ORDER.index, default="ok")


def number_profile(
    values: npt.NDArray[np.float64],
    *,
    statistic: Statistic = "psi",
    bins: int = DEFAULT_BINS,
    quantile_points: int = DEFAULT_QUANTILES,
) -> NumberProfile:
    """The profile of a number feature's training values: quantile bins and their measured shares.

    Tied quantiles (integer readings, a constant) merge into one edge: the shares are counted,
    not assumed, so a bin may hold more or less than ``1 / bins`` of the rows.
    """
    values = np.asarray(values, dtype=np.float64)
    # inverted_cdf: every edge is a training value, so tied readings stay on one side of it.
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    edges = np.unique(np.quantile(values, levels, method="inverted_cdf"))
    shares = bin_counts(edges, values) / values.size
    quantiles = np.quantile(values, np.linspace(0.0, 1.0, quantile_points))
    return NumberProfile(
        statistic,
        tuple(float(edge) for edge in edges),
        tuple(round(float(share), 6) for share in shares),
        tuple(float(point) for point in quantiles),
        DEFAULT_THRESHOLDS[statistic],
    )


def category_profile(categories: tuple[str, ...], values: npt.NDArray[Any]) -> CategoryProfile:
    """The profile of a category feature's training values: each category's share."""
    counts = category_counts(categories, values)
    total = max(int(counts[:-1].sum()), 1)
    shares = {name: round(int(count) / total, 6) for name, count in zip(categories, counts, strict=False)}
    return CategoryProfile(shares, DEFAULT_THRESHOLDS["psi"])
