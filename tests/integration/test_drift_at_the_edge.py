"""Drift at the edge in a real scoring app (onnxruntime, SQLite outbox): /readyz and /metrics.

The model is the press-defect bundle with a training profile; rows of its training
distribution stay "ok", rows whose pressure sensor reads 2.5 bar high are "drift" on that
feature only, and the site stays ready. A model swap starts a new window; a bundle
without a profile reports "unavailable".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from support.bundles import build_defect_bundle
from support.drift_bundles import build_profiled_defect_bundle, press_rows
from support.scoring_settings import API_KEY, scoring_settings

from scoring_app import create_app

HEADERS = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
STATUS_SERIES = 'edgeloop_input_drift_status{model="press-defect",version="0.2.0"}'
DRIFT_SETTINGS = {"drift_window_rows": 400, "drift_min_rows": 100, "drift_cache_seconds": 0.0}


@pytest.fixture(scope="module")
def profiled_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_profiled_defect_bundle(tmp_path_factory.mktemp("drift") / "press")


@pytest.fixture
def client(tmp_path: Path, profiled_bundle: Path) -> Iterator[TestClient]:
    settings = scoring_settings(tmp_path, profiled_bundle, **DRIFT_SETTINGS)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def score(client: TestClient, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 50):  # batches and single rows alike go into the window
        body = orjson.dumps({"rows": rows[start : start + 50]})
        answer = client.post("/api/v1/score", content=body, headers=HEADERS)
        assert answer.status_code == 200, answer.text
    answer = client.post("/api/v1/score", content=orjson.dumps({"rows": rows[:1]}), headers=HEADERS)
    assert answer.status_code == 200, answer.text


def readiness_drift(client: TestClient) -> dict[str, Any]:
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text  # drift never makes the site unready
    assert answer.json()["status"] == "ready"
    drift: dict[str, Any] = answer.json()["checks"]["drift"]
    return drift


def drift_gauges(client: TestClient) -> dict[str, float]:
    text = client.get("/metrics").text
    labels = r'feature="(\w+)",model="press-defect",statistic="psi",version="0.2.0"'
    pattern = rf"^edgeloop_input_drift\{{{labels}\}} (\S+)$"
    return {feature: float(value) for feature, value in re.findall(pattern, text, re.MULTILINE)}


def test_rows_like_the_training_data_stay_ok(client: TestClient) -> None:
    score(client, press_rows(300, seed=11))
    drift = readiness_drift(client)
    assert drift["status"] == "ok", drift
    assert drift["window_rows"] == 301
    assert set(drift["features"]) == {"line", "pressure_bar", "vibration_mm_s"}
    assert all(feature["status"] == "ok" for feature in drift["features"].values())
    gauges = drift_gauges(client)
    assert set(gauges) == {"line", "pressure_bar", "vibration_mm_s"}
    assert all(value < 0.1 for value in gauges.values()), gauges
    assert f"{STATUS_SERIES} 0.0" in client.get("/metrics").text


def test_a_recalibrated_pressure_sensor_shows_as_drift_on_that_feature_only(client: TestClient) -> None:
    score(client, press_rows(300, seed=12, pressure_shift=2.5))
    drift = readiness_drift(client)
    assert drift["status"] == "drift", drift
    features = drift["features"]
    assert features["pressure_bar"] == {
        "statistic": "psi",
        "value": features["pressure_bar"]["value"],
        "threshold": 0.25,
        "status": "drift",
    }
    assert features["vibration_mm_s"]["status"] == "ok"
    assert features["line"]["status"] == "ok"
    gauges = drift_gauges(client)
    assert gauges["pressure_bar"] >= 0.25
    assert f"{STATUS_SERIES} 2.0" in client.get("/metrics").text


def test_too_few_rows_are_unavailable_and_a_swap_starts_a_new_window(
    client: TestClient, tmp_path: Path
) -> None:
    score(client, press_rows(60, seed=13))
    assert readiness_drift(client) == {"status": "unavailable", "window_rows": 61, "features": {}}
    score(client, press_rows(150, seed=14, pressure_shift=2.5))
    assert readiness_drift(client)["status"] == "drift"
    components = client.app.state.ctx.components  # type: ignore[attr-defined]
    plain = build_defect_bundle(tmp_path / "plain", version="0.3.0")  # no profile
    components.model.swap(components.load_model(plain))
    assert readiness_drift(client) == {"status": "unavailable", "window_rows": 0, "features": {}}
    score(client, press_rows(150, seed=15))
    assert readiness_drift(client)["window_rows"] == 0  # nothing to compare with
    components.model.swap(components.load_model(build_profiled_defect_bundle(tmp_path / "again")))
    score(client, press_rows(300, seed=16))
    assert readiness_drift(client)["status"] == "ok"


def test_drift_monitoring_can_be_switched_off(tmp_path: Path, profiled_bundle: Path) -> None:
    settings = scoring_settings(tmp_path, profiled_bundle, drift_enabled=False)
    with TestClient(create_app(settings)) as off:
        score(off, press_rows(120, seed=17, pressure_shift=2.5))
        assert readiness_drift(off) == {"status": "unavailable", "window_rows": 0, "features": {}}
        assert "edgeloop_input_drift" not in off.get("/metrics").text
