"""DriftMonitor and the scoring use case: rows go into the window only once committed; the
summary is cached per ``cache_seconds`` (a clock the test moves, no sleeping); a reset empties it.

Real parts: the SQLite outbox; the model is a stand-in (no ONNX graph) that answers the
manifest's outputs, since only the rows it was handed matter here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from support.manifests import TYPICAL_ROW, demo_manifest_dict
from support.scoring_settings import scoring_settings

from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.domain.drift import DriftProfile, category_profile, number_profile
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.validation import validate_rows
from edgeloop.ports import OutboxFull
from edgeloop.service_layer.drift_monitor import DriftMonitor
from edgeloop.service_layer.scoring import ScoringService


def profiled_manifest() -> ModelManifest:
    document = demo_manifest_dict()
    rng = np.random.default_rng(4)
    profile = DriftProfile(
        {
            "type": category_profile(("L", "M", "H"), np.array(["L", "M", "H"] * 100, dtype=object)),
            "torque_nm": number_profile(rng.normal(40.0, 10.0, 3000)),
        },
        3000,
    )
    document["drift"] = profile.to_dict()
    return ModelManifest.from_dict(document)


def rows_for(count: int) -> list[dict[str, Any]]:
    return [dict(TYPICAL_ROW) for _ in range(count)]


class StandInModel:
    """Answers a risk of 0.1 and an OOD score of 0 for every row (a test double: no graph)."""

    sha256 = "0" * 64
    execution_providers = ("CPUExecutionProvider",)

    def __init__(self, manifest: ModelManifest) -> None:
        self.manifest = manifest

    def predict(self, columns: Any) -> dict[str, np.ndarray]:
        return {"failure_probability": np.full(columns.n_rows, 0.1), "ood_score": np.zeros(columns.n_rows)}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_scored_rows_go_into_the_window_once_committed(tmp_path: Path) -> None:
    manifest = profiled_manifest()
    monitor = DriftMonitor(manifest, window_rows=100, min_rows=10, cache_seconds=0.0)
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite3", capacity=25)
    service = ScoringService(outbox, "site-t", drift=monitor)
    model = StandInModel(manifest)
    service.score(model, validate_rows(manifest, rows_for(20)))  # type: ignore[arg-type]
    assert monitor.summary()["window_rows"] == 20
    with pytest.raises(OutboxFull):  # not committed: not observed
        service.score(model, validate_rows(manifest, rows_for(10)))  # type: ignore[arg-type]
    assert monitor.summary()["window_rows"] == 20
    outbox.close()


def test_the_summary_is_reused_for_cache_seconds_and_a_reset_starts_afresh() -> None:
    manifest = profiled_manifest()
    clock = Clock()
    monitor = DriftMonitor(manifest, window_rows=100, min_rows=10, cache_seconds=5.0, clock=clock)
    columns = validate_rows(manifest, rows_for(30))
    monitor.observe(columns)
    first = monitor.summary()
    assert first["window_rows"] == 30
    monitor.observe(columns)
    clock.now += 4.9
    assert monitor.summary() is first  # within cache_seconds
    clock.now += 0.2
    assert monitor.summary()["window_rows"] == 60
    monitor.reset(StandInModel(manifest))  # type: ignore[arg-type]
    assert monitor.summary() == {"status": "unavailable", "window_rows": 0, "features": {}}
    assert monitor.model == (manifest.name, manifest.version)


def test_a_minimum_above_the_window_is_refused_naming_both_settings(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"SCORING_DRIFT_MIN_ROWS .* SCORING_DRIFT_WINDOW_ROWS"):
        scoring_settings(tmp_path, tmp_path / "bundle", drift_window_rows=100, drift_min_rows=101)
    settings = scoring_settings(tmp_path, tmp_path / "bundle")
    assert (settings.drift_enabled, settings.drift_window_rows, settings.drift_min_rows) == (True, 1000, 200)
