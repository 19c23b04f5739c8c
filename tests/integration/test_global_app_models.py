"""The global app's per-model figures over a real SQLite store holding one model of each task:
the summary's ``models``, ``/api/v1/models/hours`` and the dashboard's Models table; and a
detection model's precision, recall and missed defects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from contract.insight_factory import detection_insight, feedback, seed_tasks
from fastapi.testclient import TestClient

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from global_app.app import create_app
from global_app.auth import OpenAccess


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("global-models") / "global.sqlite3")
    store.upsert(seed_tasks(hours=3))
    with TestClient(create_app(store, OpenAccess())) as test_client:
        yield test_client
    store.close()


def test_the_summary_has_each_models_counts_and_its_tasks_measure(client: TestClient) -> None:
    body = client.get("/api/v1/summary").json()
    models = {(m["name"], m["version"]): m for m in body["models"]}
    assert list(models) == [("failure-mode", "2.0.0"), ("failure-risk", "1.1.0"), ("tool-life", "1.0.0")]
    mode, risk, life = models.values()
    assert {k: mode[k] for k in ("task", "scored", "anomalies", "feedback", "quality_measure")} == {
        "task": "multiclass", "scored": 12, "anomalies": 6, "feedback": 9, "quality_measure": "accuracy"
    }  # fmt: skip
    assert (mode["accuracy"], mode["quality_feedback"], mode["mean_absolute_error"]) == (
        pytest.approx(2 / 3), 9, None
    )  # fmt: skip
    assert (risk["task"], risk["anomaly_rate"], risk["accuracy"], risk["sites"]) == (
        "binary",
        0.25,
        0.5,
        ["site-a"],
    )
    assert (life["task"], life["quality_measure"]) == ("regression", "mean_absolute_error")
    assert (life["mean_absolute_error"], life["accuracy"], life["sites"]) == (2.5, None, ["site-a", "site-b"])
    # A site's accuracy is over classification feedback: site-b has the multiclass model's 9.
    site_b = next(s for s in body["sites"] if s["site_id"] == "site-b")
    assert (site_b["feedback"], site_b["feedback_judged"]) == (12, 9)
    assert site_b["feedback_accuracy"] == pytest.approx(2 / 3)


def test_model_hours_give_each_models_counts_per_hour_over_a_range(client: TestClient) -> None:
    body = client.get("/api/v1/models/hours").json()
    assert (body["from"], body["to"]) == (None, None)
    assert len(body["hours"]) == 9  # 3 models x 3 hours
    first = body["hours"][0]
    assert (first["name"], first["hour"], first["scored"], first["anomalies"]) == (
        "failure-mode", "2024-05-01T12:00:00.000000Z", 4, 2
    )  # fmt: skip
    window = client.get(
        "/api/v1/models/hours", params={"from": "2024-05-01T13:30:00Z", "to": "2024-05-01T14:00:00Z"}
    ).json()
    assert (window["from"], window["to"]) == ("2024-05-01T13:00:00.000000Z", "2024-05-01T14:00:00.000000Z")
    assert [(h["name"], h["hour"]) for h in window["hours"]] == [
        (name, "2024-05-01T13:00:00.000000Z") for name in ("failure-mode", "failure-risk", "tool-life")
    ]
    assert [h["mean_absolute_error"] for h in window["hours"]] == [None, None, 2.5]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"from": "last week"}, "from"),
        ({"to": "2024-05-01T12:00:00"}, "to"),  # no timezone
        ({"from": "2024-05-02T00:00:00Z", "to": "2024-05-01T00:00:00Z"}, "from"),
        ({"model": "tool-life"}, "model"),
    ],
)
def test_bad_model_hours_parameters_are_refused_naming_the_parameter(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/api/v1/models/hours", params=params)
    assert response.status_code == 400
    assert response.json() | {"message": ""} == {
        "error": "invalid_parameter",
        "parameter": parameter,
        "message": "",
    }


def test_the_dashboard_has_a_row_per_model_version_with_its_measure_named(client: TestClient) -> None:
    html = client.get("/").text
    rows = re.findall(r'<tr data-model="([^"]+)"[^>]*>(.*?)</tr>', html, re.S)
    cells = {
        model: [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for model, row in rows
    }
    assert cells == {
        "failure-mode 2.0.0": [
            "failure-mode",
            "2.0.0",
            "multiclass",
            "12",
            "50.0%",
            "9",
            "accuracy 66.7% (of 9)",
        ],
        "failure-risk 1.1.0": [
            "failure-risk",
            "1.1.0",
            "binary",
            "12",
            "25.0%",
            "6",
            "accuracy 50.0% (of 6)",
        ],
        "tool-life 1.0.0": [
            "tool-life",
            "1.0.0",
            "regression",
            "6",
            "0.0%",
            "6",
            "mean absolute error 2.5 (of 6)",
        ],
    }


def _model_cells(html: str) -> dict[str, list[str]]:
    rows = re.findall(r'<tr data-model="([^"]+)"[^>]*>(.*?)</tr>', html, re.S)
    return {
        model: [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for model, row in rows
    }


def test_a_detection_model_shows_its_precision_recall_and_missed_defects(tmp_path: Path) -> None:
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    two, none, unjudged = (
        detection_insight(),
        detection_insight("site-b", 0, hour=1),
        detection_insight(hour=2),
    )
    box = "scratch@0.1,0.62,0.3,0.8"
    store.upsert(
        [two, none, unjudged, feedback(two, f"accept,reject;{box}"), feedback(none, f";{box};{box}")]
    )
    with TestClient(create_app(store, OpenAccess())) as detection_client:
        [model] = detection_client.get("/api/v1/summary").json()["models"]
        html = detection_client.get("/").text
        [hour, *_] = detection_client.get("/api/v1/models/hours").json()["hours"]
    store.close()
    named = ("task", "quality_measure", "quality_feedback", "accepted", "rejected", "missed")
    assert {k: model[k] for k in named} == {
        "task": "detection", "quality_measure": "precision", "quality_feedback": 2,
        "accepted": 1, "rejected": 1, "missed": 3,
    }  # fmt: skip
    assert (model["precision"], model["recall"], model["accuracy"]) == (0.5, 0.25, None)
    assert (hour["accepted"], hour["rejected"], hour["missed"], hour["recall"]) == (1, 1, 1, 0.5)
    assert _model_cells(html)["surface-detection 1"][2:] == [
        "detection", "3", "66.7%", "2", "precision 50.0% (of 2), recall 25.0% (of 4), missed 3"
    ]  # fmt: skip


def test_other_tasks_models_have_no_detection_figures(client: TestClient) -> None:
    for model in client.get("/api/v1/summary").json()["models"]:
        assert [model[k] for k in ("precision", "recall", "accepted", "rejected", "missed")] == [None] * 5
