"""The image API and the feedback API with a detection model: in-process app, the tiny detection graph
(tests/support/detection_bundles.py) on real onnxruntime, real Pillow decoding, real SQLite outbox.

Several pictures in one request are answered with their detections (class, score, box), in order;
the verdicts on them are typed feedback (a bad one is a 422 naming the item and field, nothing
recorded), read against the insight's detections (one verdict each) and with the defects the
model missed (a malformed box: 422; an unknown insight: 404); GET /api/v1/model describes the
task, the OpenAPI document the label's grammar."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.detection_bundles import quadrant_frame, tiny_detection_bundle
from support.image_files import encoded

from edgeloop.config.scoring import ScoringSettings
from scoring_app import create_app

API_KEY = "test-key-0123456789"
HEADERS = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    work = tmp_path_factory.mktemp("detection-api")
    settings = ScoringSettings(
        model_dir=tiny_detection_bundle(work / "bundle"),
        outbox_path=work / "outbox.sqlite3",
        api_key=API_KEY,
        api_key_file=work / "api-key",
        relay_enabled=False,
        site_id="site-detect",
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_pictures_are_answered_with_their_detections_and_judged_one_by_one(client: TestClient) -> None:
    files = [
        ("images", ("clean.png", encoded(quadrant_frame(())), "image/png")),
        ("images", ("two.png", encoded(quadrant_frame((1, 2))), "image/png")),
    ]
    response = client.post("/api/v1/score/images", files=files, headers=HEADERS)
    assert response.status_code == 200, response.text
    clean, two = response.json()["results"]
    assert (clean["file_name"], clean["detections"], clean["anomaly"]) == ("clean.png", [], False)
    assert two["detections"] == [
        {"class": "stain", "score": 1.0, "box": [0.5, 0.0, 1.0, 0.5]},
        {"class": "stain", "score": 1.0, "box": [0.0, 0.5, 0.5, 1.0]},
    ]
    assert two["outputs"] == {"count_stain": 2, "count_glare": 0, "uncertain": 0}

    bad = {"items": [{"insight_id": two["insight_id"], "label": "accept,maybe"}]}
    refused = client.post("/api/v1/feedback", json=bad, headers=HEADERS)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "label"
    outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    assert outbox.recent("feedback", 10) == []

    good = {"items": [{"insight_id": two["insight_id"], "label": "accept,reject"}]}
    recorded = client.post("/api/v1/feedback", json=good, headers=HEADERS)
    assert recorded.status_code == 200, recorded.text
    [feedback] = outbox.recent("feedback", 10)
    assert feedback["label"] == "accept,reject"

    model = client.get("/api/v1/model", headers=HEADERS).json()
    assert model["task"]["kind"] == "detection"
    assert model["task"]["iou_threshold"] == 0.45


def feedback(client: TestClient, *items: tuple[str, str]) -> Any:
    body = {"items": [{"insight_id": insight_id, "label": label} for insight_id, label in items]}
    return client.post("/api/v1/feedback", json=body, headers=HEADERS)


def test_verdicts_are_checked_against_the_insight_s_detections_and_missed_defects_recorded(
    client: TestClient,
) -> None:
    files = [
        ("images", ("one.png", encoded(quadrant_frame((0,))), "image/png")),
        ("images", ("clean.png", encoded(quadrant_frame(())), "image/png")),
    ]
    one, clean = client.post("/api/v1/score/images", files=files, headers=HEADERS).json()["results"]
    outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    before = len(outbox.recent("feedback", 100))

    refused = feedback(client, (one["insight_id"], "accept,reject"), (clean["insight_id"], "accept"))
    assert refused.status_code == 422
    assert [(p["row"], p["field"]) for p in refused.json()["detail"]] == [(0, "label"), (1, "label")]
    assert "2 verdicts for the insight's 1 detections" in refused.json()["detail"][0]["message"]
    assert "1 verdicts for the insight's 0 detections" in refused.json()["detail"][1]["message"]

    malformed = feedback(client, (one["insight_id"], "accept;stain@0.6,0.1,0.5,0.4"))
    assert malformed.status_code == 422
    [problem] = malformed.json()["detail"]
    assert (problem["row"], problem["field"]) == (0, "label")
    assert "missed defect 1" in problem["message"]
    assert "x1 < x2" in problem["message"]
    unknown_class = feedback(client, (one["insight_id"], "accept;dent@0.1,0.1,0.2,0.2"))
    assert "unknown class 'dent'" in unknown_class.json()["detail"][0]["message"]
    unknown = feedback(client, (one["insight_id"][:-5] + "00009", "accept"))
    assert unknown.status_code == 404
    assert unknown.json()["detail"][0]["field"] == "insight_id"
    assert len(outbox.recent("feedback", 100)) == before  # nothing of a refused call is recorded

    missed = "accept;glare@0.5,0.5,0.875,1"
    recorded = feedback(client, (one["insight_id"], missed), (clean["insight_id"], ";stain@0,0.5,0.5,1"))
    assert recorded.status_code == 200, recorded.text
    newest = outbox.recent("feedback", 2)
    assert {(f["insight_id"], f["label"]) for f in newest} == {
        (one["insight_id"], missed),
        (clean["insight_id"], ";stain@0,0.5,0.5,1"),
    }


def test_the_openapi_document_gives_the_detection_label_s_grammar(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    body = document["paths"]["/api/v1/feedback"]["post"]["requestBody"]["content"]["application/json"]
    label = body["schema"]["properties"]["items"]["items"]["properties"]["label"]
    assert label["maxLength"] == 200
    assert "missed" in label["description"]
    for example in label["examples"]:
        assert re.fullmatch(label["pattern"], example)
    assert re.fullmatch(label["pattern"], "accept;dent@0,0,1,1") is None  # dent: not one of its classes
