"""Drift statistics (edgeloop.domain.drift) against the plain reference, and their thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.drift_reference import reference_bin_counts, reference_ks, reference_psi

from edgeloop.domain.drift import (
    DEFAULT_THRESHOLDS,
    Thresholds,
    bin_counts,
    category_drift,
    category_profile,
    ks_statistic,
    number_drift,
    number_profile,
    psi,
)

READINGS = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
EDGES = st.lists(READINGS, min_size=1, max_size=12, unique=True).map(sorted)


@settings(max_examples=200, deadline=None)
@given(edges=EDGES, values=st.lists(READINGS | st.sampled_from([0.0, 1.0]), max_size=60))
def test_bin_counts_match_the_reference(edges: list[float], values: list[float]) -> None:
    # Values equal to an edge included: they belong to the bin the edge opens.
    values = values + edges[:2]
    found = bin_counts(np.array(edges), np.array(values, dtype=np.float64))
    assert found.tolist() == reference_bin_counts(edges, values)


@settings(max_examples=200, deadline=None)
@given(
    shares=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=12),
    data=st.data(),
)
def test_psi_matches_the_reference(shares: list[float], data: st.DataObject) -> None:
    counts = data.draw(st.lists(st.integers(0, 500), min_size=len(shares), max_size=len(shares)))
    expected = np.array(shares) / (sum(shares) or 1.0)
    found = psi(expected, np.array(counts, dtype=np.int64))
    assert found == pytest.approx(reference_psi(expected.tolist(), counts), rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(READINGS, min_size=1, max_size=40),
    quantiles=st.lists(READINGS, min_size=2, max_size=20).map(sorted),
)
def test_ks_matches_the_reference(values: list[float], quantiles: list[float]) -> None:
    found = ks_statistic(np.array(values), np.array(quantiles))
    assert found == pytest.approx(reference_ks(values, quantiles), abs=1e-12)


def test_thresholds_say_ok_watch_drift_at_their_bounds() -> None:
    thresholds = Thresholds(0.1, 0.25)
    assert [thresholds.status(v) for v in (0.0, 0.0999, 0.1, 0.2499, 0.25, 3.0)] == [
        "ok",
        "ok",
        "watch",
        "watch",
        "drift",
        "drift",
    ]
    assert DEFAULT_THRESHOLDS["psi"] == Thresholds(0.1, 0.25)
    assert DEFAULT_THRESHOLDS["ks"] == Thresholds(0.1, 0.2)


def test_a_sample_of_the_training_distribution_is_ok_and_a_shifted_one_drifts() -> None:
    rng = np.random.default_rng(5)
    training = rng.normal(300.0, 2.0, 20_000)
    for statistic in ("psi", "ks"):
        profile = number_profile(training, statistic=statistic)
        same = number_drift(profile, rng.normal(300.0, 2.0, 1000))
        shifted = number_drift(profile, rng.normal(303.0, 2.0, 1000))  # a recalibrated sensor
        assert (same.statistic, same.status) == (statistic, "ok"), same
        assert shifted.status == "drift", shifted
        assert shifted.threshold == DEFAULT_THRESHOLDS[statistic].drift


def test_tied_readings_are_profiled_by_their_measured_shares() -> None:
    training = np.repeat([10.0, 20.0, 30.0], [700, 200, 100])  # integer readings: quantiles tie
    profile = number_profile(training)
    assert profile.edges == (10.0, 20.0)
    assert profile.proportions == (0.0, 0.7, 0.3)
    assert number_drift(profile, training.copy()).value == 0.0


def test_categories_drift_when_their_mix_changes_or_an_unknown_one_appears() -> None:
    training = np.array(["L"] * 600 + ["M"] * 300 + ["H"] * 100, dtype=object)
    profile = category_profile(("L", "M", "H"), training)
    assert dict(profile.proportions) == {"L": 0.6, "M": 0.3, "H": 0.1}
    assert category_drift(profile, training.copy()).status == "ok"
    flipped = np.array(["H"] * 600 + ["M"] * 300 + ["L"] * 100, dtype=object)
    assert category_drift(profile, flipped).status == "drift"
    unknown = np.array(["L"] * 500 + ["X"] * 500, dtype=object)
    assert category_drift(profile, unknown).status == "drift"
