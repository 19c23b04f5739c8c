"""The image API and the feedback API with a detection model: in-process app, the tiny detection graph
(tests/support/detection_bundles.py) on real onnxruntime, real Pillow decoding, real SQLite outbox.

Several pictures in one request are answered with their detections (class, score, box), in order;
the verdicts on them are typed feedback (a bad one is a 422 naming the item and field, nothing
recorded); GET /api/v1/model describes the task."""

from __future__ import annotations

from collections.abc import Iterator

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
