"""detect_anomalies: rules come from the manifest (threshold, OOD threshold and direction)."""

from __future__ import annotations

import numpy as np
import pytest
from support.manifests import demo_manifest

from edgeloop.domain.anomaly import HIGH_RISK, INVALID_OUTPUT, OUT_OF_DISTRIBUTION, detect_anomalies


def outputs(risk: list[float], ood: list[float]) -> dict[str, np.ndarray]:
    return {"failure_probability": np.array(risk, dtype=np.float32), "ood_score": np.array(ood)}


def test_high_risk_at_or_above_threshold_and_ood_above() -> None:
    manifest = demo_manifest(threshold=0.5, ood_threshold=10.0)
    flags, kinds = detect_anomalies(
        manifest, outputs([0.1, 0.5, 0.49, 0.9, 0.2], [1.0, 2.0, 10.0, 11.0, 10.5])
    )
    assert flags.dtype == np.bool_
    assert flags.tolist() == [False, True, False, True, True]
    assert kinds == [(), (HIGH_RISK,), (), (HIGH_RISK, OUT_OF_DISTRIBUTION), (OUT_OF_DISTRIBUTION,)]


def test_ood_direction_below() -> None:
    manifest = demo_manifest(ood_threshold=-3.0, ood_direction="below")
    flags, kinds = detect_anomalies(manifest, outputs([0.1, 0.1, 0.1], [-3.5, -3.0, 0.0]))
    assert flags.tolist() == [True, False, False]
    assert kinds == [(OUT_OF_DISTRIBUTION,), (), ()]


def test_thresholds_come_from_the_manifest() -> None:
    values = outputs([0.3, 0.3], [5.0, 5.0])
    assert detect_anomalies(demo_manifest(threshold=0.5, ood_threshold=10.0), values)[0].tolist() == [
        False,
        False,
    ]
    strict = demo_manifest(threshold=0.25, ood_threshold=4.0)
    assert detect_anomalies(strict, values)[1] == [(HIGH_RISK, OUT_OF_DISTRIBUTION)] * 2


def test_without_ood_output_only_risk_counts() -> None:
    document_overrides = {
        "ood_output": None,
        "ood_threshold": None,
        "outputs": [{"name": "failure_probability"}],
        "onnx_outputs": [{"output": "failure_probability", "name": "p"}],
    }
    manifest = demo_manifest(**document_overrides)
    flags, kinds = detect_anomalies(manifest, {"failure_probability": np.array([0.7, 0.2])})
    assert flags.tolist() == [True, False]
    assert kinds == [(HIGH_RISK,), ()]


def test_non_finite_outputs_are_flagged_invalid() -> None:
    manifest = demo_manifest()
    flags, kinds = detect_anomalies(
        manifest, outputs([float("nan"), 0.1, 0.1], [1.0, float("nan"), float("inf")])
    )
    assert flags.tolist() == [True, True, True]
    assert kinds == [(INVALID_OUTPUT,), (INVALID_OUTPUT,), (OUT_OF_DISTRIBUTION, INVALID_OUTPUT)]


def test_empty_batch() -> None:
    flags, kinds = detect_anomalies(demo_manifest(), outputs([], []))
    assert flags.shape == (0,)
    assert kinds == []


def test_mismatched_output_lengths_rejected() -> None:
    with pytest.raises(ValueError, match="ood_score"):
        detect_anomalies(demo_manifest(), outputs([0.1, 0.2], [1.0]))


def test_vectorised_over_many_rows() -> None:
    rng = np.random.default_rng(1)
    risk, ood = rng.random(10_000), rng.normal(8, 2, 10_000)
    flags, kinds = detect_anomalies(
        demo_manifest(threshold=0.5, ood_threshold=10.0), outputs(list(risk), list(ood))
    )
    expected_high = risk.astype(np.float32) >= 0.5
    assert np.array_equal(flags, expected_high | (ood > 10.0))
    assert sum(HIGH_RISK in k for k in kinds) == int(expected_high.sum())
