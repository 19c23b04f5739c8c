"""POST /api/v1/score/images with the vision demo's bundle: in-process app, real onnxruntime graph
(edgeloop/recipes/surface_defects.py), real SQLite outbox, real Pillow decoding.

Several JPEG and PNG files in one request are scored in one call, each answered by index and
file name and recorded as an insight with derived results only; every kind of bad file (truncated,
a decompression bomb, another type, too many bytes or files) answers 4xx naming the file, and
nothing of that request is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from support.image_bundles import surface_bundle
from support.image_files import encoded, gif, png_bomb

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.config.scoring import ScoringSettings
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.domain.records import InsightRecord, record_from_wire
from edgeloop.recipes import surface_images
from scoring_app import create_app

API_KEY = "test-key-0123456789"
HEADERS = {"X-API-Key": API_KEY}
PATH = "/api/v1/score/images"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return surface_bundle(tmp_path_factory.mktemp("vision"))


@pytest.fixture
def client(tmp_path: Path, bundle: Path) -> Iterator[TestClient]:
    settings = ScoringSettings(
        model_dir=bundle,
        outbox_path=tmp_path / "outbox.sqlite3",
        api_key=API_KEY,
        api_key_file=tmp_path / "api-key",
        relay_enabled=False,
        site_id="site-vision",
        image_max_files=4,
        image_max_bytes=200_000,
        image_max_pixels=1_000_000,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def outbox_records(client: TestClient) -> list[dict[str, Any]]:
    outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    records: list[dict[str, Any]] = outbox.recent("insight", 100)
    return sorted(records, key=lambda record: record["insight_id"])


def post(client: TestClient, files: list[tuple[str, bytes, str]]) -> Any:
    parts = [("images", (name, data, content_type)) for name, data, content_type in files]
    return client.post(PATH, files=parts, headers=HEADERS)


FRAMES, LABELS = surface_images.generate([1, 1, 1, 1], seed=2024)


def test_several_pngs_and_jpegs_are_scored_in_one_call_as_onnxruntime_scores_them(
    client: TestClient, bundle: Path
) -> None:
    files = [(f"part-{i}.png", encoded(frame), "image/png") for i, frame in enumerate(FRAMES)]
    files[3] = ("part-3.jpg", encoded(FRAMES[3], "JPEG", quality=95), "image/jpeg")
    response = post(client, files)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == {"name": "surface-defects", "version": "1"}
    results = answer["results"]
    assert [(r["index"], r["file_name"]) for r in results] == [
        (i, name) for i, (name, _, _) in enumerate(files)
    ]
    # The PNGs are lossless: their probabilities are what the graph gives for the same frames.
    model = OnnxModel.load(bundle)
    direct = model.predict_images(prepare_batch(list(FRAMES[:3]), model.manifest.image_input))  # type: ignore[arg-type]
    for index in range(3):
        for name in surface_images.CLASSES:
            assert results[index]["probabilities"][name] == pytest.approx(
                direct[f"p_{name}"][index], rel=1e-5
            )
    for result in results:
        assert result["prediction"] == max(result["probabilities"], key=result["probabilities"].get)
        assert result["anomaly"] == (result["prediction"] != "ok" or bool(result["anomaly_kinds"]))
    records = outbox_records(client)
    assert [record["insight_id"] for record in records] == [r["insight_id"] for r in results]


def test_insights_carry_derived_results_only(client: TestClient) -> None:
    response = post(client, [("line 4 - operator Jane.png", encoded(FRAMES[1]), "image/png")])
    assert response.status_code == 200, response.text
    [record] = outbox_records(client)
    assert isinstance(record_from_wire(record), InsightRecord)
    assert record["inputs"] == {}
    assert record["context"] == {"source": "upload"}
    assert set(record["outputs"]) == {f"p_{name}" for name in surface_images.CLASSES}
    text = orjson.dumps(record)
    assert b"Jane" not in text
    assert len(text) < 1000  # 64 x 64 x 3 pixels would not fit in a kilobyte


TRUNCATED = encoded(FRAMES[0])[:-400]
REFUSALS = [
    ("truncated.png", TRUNCATED, "image/png", 422, "undecodable"),
    ("cut.jpg", encoded(FRAMES[0], "JPEG")[:600], "image/jpeg", 422, "undecodable"),
    ("bomb.png", png_bomb(20_000), "image/png", 422, "too_many_pixels"),
    ("anim.gif", gif(FRAMES[0]), "image/gif", 415, "unsupported_type"),
    ("notes.txt", b"not a picture", "image/png", 415, "unsupported_type"),
    (
        "huge.png",
        encoded(np.random.default_rng(0).integers(0, 256, (300, 300, 3), np.uint8)),
        "image/png",
        413,
        "too_large",
    ),
]


@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "kind"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_a_bad_file_answers_4xx_naming_it_and_nothing_of_the_request_is_recorded(
    client: TestClient, name: str, data: bytes, content_type: str, status: int, kind: str
) -> None:
    good = ("good.png", encoded(FRAMES[0]), "image/png")
    response = post(client, [good, (name, data, content_type), good])
    assert response.status_code == status, response.text
    [problem] = response.json()["detail"]
    assert (problem["index"], problem["file_name"], problem["kind"]) == (1, name, kind)
    assert problem["field"] == "images"
    assert outbox_records(client) == []


def test_too_many_files_or_none_or_another_field_are_refused(client: TestClient) -> None:
    good = ("good.png", encoded(FRAMES[0]), "image/png")
    too_many = post(client, [good] * 5)
    assert too_many.status_code == 422
    assert "at most 4 images" in too_many.json()["detail"][0]["message"]
    other_field = client.post(PATH, files=[("photos", good)], headers=HEADERS)
    assert other_field.status_code == 422
    assert other_field.json()["detail"][0]["field"] == "photos"
    text_field = client.post(PATH, data={"images": "x"}, files=[("images", good)], headers=HEADERS)
    assert text_field.status_code == 422
    json_body = client.post(PATH, json={"images": []}, headers=HEADERS)
    assert json_body.status_code == 415
    assert outbox_records(client) == []


def test_the_route_takes_the_api_key_and_the_row_route_points_here(client: TestClient) -> None:
    good = ("good.png", encoded(FRAMES[0]), "image/png")
    assert client.post(PATH, files=[("images", good)]).status_code == 401
    rows = client.post("/api/v1/score", json={"rows": [{"image": 1}]}, headers=HEADERS)
    assert rows.status_code == 409
    assert PATH in rows.json()["detail"]


def test_the_openapi_document_describes_the_upload(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"][PATH]["post"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["images"]["items"] == {"type": "string", "format": "binary"}
    assert {"413", "415", "422"} <= set(operation["responses"])
    assert client.get("/readyz").status_code == 200
    model = client.get("/api/v1/model", headers=HEADERS).json()
    assert model["inputs"][0]["type"] == "image"
    assert model["inputs"][0]["width"] == 64
