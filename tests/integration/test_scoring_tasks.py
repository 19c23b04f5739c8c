"""The scoring API for a multiclass and a regression model: in-process, real onnxruntime graphs
(tests/support/task_bundles.py), real SQLite outbox.

Per task: the answer adds each row's prediction; feedback takes the task's label (a class name,
a number) and refuses another with 422 naming ``items[i].label``; ``GET /api/v1/model`` and the
OpenAPI document describe the task. The binary answers are pinned by test_scoring_api.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from support.bundles import valid_rows
from support.task_bundles import (
    CLASSES,
    WEAR_UNIT,
    build_multiclass_bundle,
    build_regression_bundle,
    multiclass_predicted,
    regression_reference,
)

from edgeloop.config.scoring import ScoringSettings
from edgeloop.domain.manifest import load_manifest
from edgeloop.domain.records import FeedbackRecord, InsightRecord, record_from_wire
from scoring_app import create_app

API_KEY = "test-key-0123456789"
HEADERS = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
BUILDERS = {"multiclass": build_multiclass_bundle, "regression": build_regression_bundle}
# Per task: a label it takes, and labels it refuses (another task's among them).
LABELS: dict[str, tuple[Any, list[Any]]] = {
    "multiclass": ("TWF", [1, "twf", "", None, ["TWF"]]),
    "regression": (1.25, ["1.25", True, None, {"value": 1}]),
}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("task-bundles")
    return {task: build(tmp / task) for task, build in BUILDERS.items()}


@pytest.fixture(params=list(BUILDERS))
def task(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def client(tmp_path: Path, bundles: dict[str, Path], task: str) -> Iterator[TestClient]:
    settings = ScoringSettings(
        model_dir=bundles[task],
        outbox_path=tmp_path / "outbox.sqlite3",
        api_key=API_KEY,
        api_key_file=tmp_path / "api-key",
        relay_enabled=False,
        site_id="site-tasks",
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def rows(bundle: Path, n_rows: int = 4) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = valid_rows(load_manifest(bundle), n_rows, seed=11)
    found[0]["torque_nm"] = 77.0
    return found


def score(client: TestClient, body_rows: list[dict[str, Any]]) -> Any:
    response = client.post("/api/v1/score", content=orjson.dumps({"rows": body_rows}), headers=HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def recent(client: TestClient, kind: str) -> list[Any]:
    outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    return [record_from_wire(raw) for raw in outbox.recent(kind, 100)]


def test_the_answer_and_the_insights_carry_each_rows_prediction(
    client: TestClient, bundles: dict[str, Path], task: str
) -> None:
    body_rows = rows(bundles[task])
    results = score(client, body_rows)["results"]
    if task == "multiclass":
        assert [r["prediction"] for r in results] == multiclass_predicted(body_rows)
        assert results[0]["anomaly_kinds"] == ["alert_class"]  # OSF
    else:
        values = regression_reference(body_rows)[:, 0]
        assert np.allclose([r["prediction"] for r in results], values, rtol=1e-6)
        assert results[0]["anomaly_kinds"] == ["out_of_band"]
    assert list(results[0])[-2:] == ["anomaly_kinds", "prediction"]
    insights = {r.insight_id: r for r in recent(client, "insight") if isinstance(r, InsightRecord)}
    assert [insights[r["insight_id"]].prediction for r in results] == [r["prediction"] for r in results]
    assert {r.model.task for r in insights.values()} == {task}


def test_feedback_takes_the_tasks_label(client: TestClient, bundles: dict[str, Path], task: str) -> None:
    insight_id = score(client, rows(bundles[task], 1))["results"][0]["insight_id"]
    label, _ = LABELS[task]
    answer = client.post(
        "/api/v1/feedback", json={"items": [{"insight_id": insight_id, "label": label}]}, headers=HEADERS
    )
    assert answer.status_code == 200, answer.text
    [record] = recent(client, "feedback")
    assert isinstance(record, FeedbackRecord)
    assert (record.insight_id, record.label) == (insight_id, label)


def test_a_label_the_task_does_not_take_is_refused_naming_the_item_and_field(
    client: TestClient, bundles: dict[str, Path], task: str
) -> None:
    insight_id = score(client, rows(bundles[task], 1))["results"][0]["insight_id"]
    good, bad_labels = LABELS[task]
    for bad in bad_labels:
        items = [{"insight_id": insight_id, "label": good}, {"insight_id": insight_id, "label": bad}]
        answer = client.post("/api/v1/feedback", json={"items": items}, headers=HEADERS)
        assert answer.status_code == 422, bad
        assert [(d["row"], d["field"]) for d in answer.json()["detail"]] == [(1, "label")], bad
    first = client.post(
        "/api/v1/feedback",
        json={"items": [{"insight_id": insight_id, "label": bad_labels[0]}]},
        headers=HEADERS,
    )
    assert [(d["row"], d["field"]) for d in first.json()["detail"]] == [(0, "label")]
    assert recent(client, "feedback") == []  # nothing recorded


def test_the_model_route_and_the_document_describe_the_task(client: TestClient, task: str) -> None:
    described = client.get("/api/v1/model", headers=HEADERS).json()
    assert described["task"]["kind"] == task
    assert "risk_output" not in described
    assert "threshold" not in described
    assert "base_data" not in described  # these bundles declare no recipe
    document = client.get("/openapi.json").json()
    body = document["paths"]["/api/v1/feedback"]["post"]["requestBody"]["content"]["application/json"]
    label = body["schema"]["properties"]["items"]["items"]["properties"]["label"]
    if task == "multiclass":
        assert label == {"type": "string", "enum": list(CLASSES), "description": "The actual class"}
    else:
        assert label["type"] == "number"
        assert WEAR_UNIT in label["description"]


def test_a_binary_model_is_described_as_before_plus_its_task(tmp_path: Path, demo_bundle_dir: Path) -> None:
    settings = ScoringSettings(
        model_dir=demo_bundle_dir,
        outbox_path=tmp_path / "outbox.sqlite3",
        api_key=API_KEY,
        api_key_file=tmp_path / "api-key",
        relay_enabled=False,
    )
    manifest = load_manifest(demo_bundle_dir)
    with TestClient(create_app(settings)) as binary:
        described = binary.get("/api/v1/model", headers=HEADERS).json()
        keys = ["name", "version", "inputs", "outputs", "risk_output", "threshold", "task", "base_data"]
        assert list(described) == keys
        assert manifest.recipe is not None
        assert manifest.recipe.base_data is not None
        assert described["base_data"] == {  # where edgeloop replay finds each input and the label
            "columns": dict(manifest.recipe.base_data.columns),
            "label": manifest.recipe.base_data.label,
        }
        assert (described["risk_output"], described["threshold"]) == (
            manifest.risk_output,
            manifest.threshold,
        )
        assert described["task"] == manifest.task.to_dict()
        document = binary.get("/openapi.json").json()
        body = document["paths"]["/api/v1/feedback"]["post"]["requestBody"]["content"]["application/json"]
        label = body["schema"]["properties"]["items"]["items"]["properties"]["label"]
        assert (label["type"], label["enum"]) == ("integer", [0, 1])
        [result] = score(binary, valid_rows(manifest, 1))["results"]
        assert "prediction" not in result
