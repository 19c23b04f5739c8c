"""The window of recent inputs (edgeloop.domain.drift_window) against a deque, and its summary."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from support.drift_reference import ReferenceWindow

from edgeloop.domain.drift import DriftProfile, category_profile, number_profile
from edgeloop.domain.drift_window import RecentInputs, drift_summary

TRAINING = np.random.default_rng(1).normal(50.0, 5.0, 5000)
PROFILE = DriftProfile(
    {
        "speed": number_profile(TRAINING),
        "line": category_profile(("a", "b"), np.array(["a", "b"] * 50, dtype=object)),
    },
    5000,
)


@settings(max_examples=150, deadline=None)
@given(
    capacity=st.integers(1, 12),
    fold_rows=st.integers(1, 16),
    batches=st.lists(st.integers(0, 30), max_size=8),
    read_between=st.booleans(),
)
def test_the_ring_buffer_holds_the_last_rows_as_a_deque_does(
    capacity: int, fold_rows: int, batches: list[int], read_between: bool
) -> None:
    window = RecentInputs(PROFILE, capacity, fold_rows=fold_rows)
    reference = ReferenceWindow(("speed", "line"), capacity)
    counter = 0
    for size in batches:
        speeds = np.arange(counter, counter + size, dtype=np.float64)
        lines = np.array([f"r{value}" for value in range(counter, counter + size)], dtype=object)
        counter += size
        window.record({"speed": speeds}, {"line": lines}, size)
        reference.record({"speed": speeds.tolist(), "line": lines.tolist()})
        if read_between:
            assert window.rows == len(reference.values("speed"))
    held = window.snapshot()
    assert window.rows == len(reference.values("speed"))
    assert sorted(held["speed"].tolist()) == sorted(reference.values("speed"))
    assert sorted(held["line"].tolist()) == sorted(reference.values("line"))


def test_a_batch_missing_a_profiled_feature_is_not_recorded() -> None:
    window = RecentInputs(PROFILE, 10)
    window.record({"speed": np.ones(3)}, {}, 3)
    assert window.rows == 0


def test_the_summary_is_unavailable_without_a_profile_or_below_the_minimum_rows() -> None:
    assert drift_summary(None, {}, 500, 100) == {"status": "unavailable", "window_rows": 500, "features": {}}
    window = RecentInputs(PROFILE, 1000)
    window.record({"speed": TRAINING[:99]}, {"line": np.array(["a"] * 99, dtype=object)}, 99)
    summary = drift_summary(PROFILE, window.snapshot(), window.rows, 100)
    assert summary == {"status": "unavailable", "window_rows": 99, "features": {}}


def test_the_summary_has_the_heartbeats_shape_and_the_worst_features_status() -> None:
    window = RecentInputs(PROFILE, 1000)
    rng = np.random.default_rng(2)
    lines = np.array(["a", "b"] * 500, dtype=object)
    window.record({"speed": rng.normal(50.0, 5.0, 1000)}, {"line": lines}, 1000)
    ok = drift_summary(PROFILE, window.snapshot(), window.rows, 100)
    assert ok["status"] == "ok"
    assert ok["window_rows"] == 1000
    assert set(ok["features"]) == {"speed", "line"}
    assert ok["features"]["speed"]["statistic"] == "psi"
    assert set(ok["features"]["speed"]) == {"statistic", "value", "threshold", "status"}
    assert ok["features"]["speed"]["threshold"] == 0.25
    window.record({"speed": rng.normal(60.0, 5.0, 1000)}, {"line": lines}, 1000)
    drifted = drift_summary(PROFILE, window.snapshot(), window.rows, 100)
    assert drifted["status"] == "drift"
    assert drifted["features"]["speed"]["status"] == "drift"
    assert drifted["features"]["line"]["status"] == "ok"
