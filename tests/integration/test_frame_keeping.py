"""Every scored frame kept on site, and the operators' labels for them: in-process scoring app,
the vision demo's bundle (real onnxruntime), real SQLite outbox and frame store, real Pillow,
a real video file camera (PyAV).

Uploads are kept as they came after their insights are recorded, camera frames as JPEG, each
with its result summary and its insight; a frame the store cannot hold is counted in /metrics
and the answer is still 200; a label given through the admin API is feedback joined to the
frame's insight."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from support.cameras import write_test_video
from support.image_bundles import surface_bundle
from support.image_files import encoded
from support.scoring_settings import API_KEY, scoring_settings
from support.waiting import wait_until

from edgeloop.config.cameras import CameraSettings
from edgeloop.recipes import surface_images
from scoring_app import create_app

ADMIN_KEY = "admin-key-0123456789abcdef"
HEADERS = {"X-API-Key": API_KEY}
ADMIN = {"X-Admin-Key": ADMIN_KEY}
POLICY = Path(__file__).resolve().parents[2] / "policies" / "compliance.yaml"
FRAMES, LABELS = surface_images.generate([1, 1, 1, 1], seed=7)
WAIT = 30.0


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return surface_bundle(tmp_path_factory.mktemp("vision"))


def keeping_frames(monkeypatch: pytest.MonkeyPatch, folder: Path, max_bytes: int | None = None) -> None:
    monkeypatch.setenv("SCORING_FRAMES_DIR", str(folder))
    monkeypatch.setenv("EDGELOOP_COMPLIANCE_POLICY", str(POLICY))
    monkeypatch.delenv("SCORING_FRAME_UPLOAD_STORAGE", raising=False)  # frames stay on site
    if max_bytes is not None:
        monkeypatch.setenv("SCORING_FRAMES_MAX_BYTES", str(max_bytes))


def app_client(tmp_path: Path, bundle: Path, cameras: CameraSettings | None = None) -> TestClient:
    settings = scoring_settings(tmp_path, bundle, site_id="site-frames", admin_api_key=ADMIN_KEY)
    return TestClient(create_app(settings, cameras or CameraSettings()))


@pytest.fixture
def client(tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    keeping_frames(monkeypatch, tmp_path / "frames")
    with app_client(tmp_path, bundle) as test_client:
        yield test_client


def upload(client: TestClient, files: list[tuple[str, bytes, str]]) -> Any:
    parts = [("images", (name, data, content_type)) for name, data, content_type in files]
    return client.post("/api/v1/score/images", files=parts, headers=HEADERS)


def keeping_counts(client: TestClient) -> dict[str, float]:
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "edgeloop_frames_keeping_total":
                found[sample.labels["outcome"]] = sample.value
    return found


def kept_frames(client: TestClient, count: int) -> list[dict[str, Any]]:
    """The kept frames, once ``count`` are (keeping is written behind the answer)."""
    listing: list[dict[str, Any]] = []

    def listed() -> bool:
        response = client.get("/api/v1/admin/frames?limit=100", headers=ADMIN)
        assert response.status_code == 200, response.text
        listing[:] = response.json()["frames"]
        return len(listing) >= count

    wait_until(listed, WAIT, f"{count} frames kept")
    return listing


def test_uploads_are_kept_as_they_came_with_their_insight_and_result(client: TestClient) -> None:
    png, jpeg = encoded(FRAMES[0]), encoded(FRAMES[1], "JPEG", quality=90)
    response = upload(client, [("part-a.png", png, "image/png"), ("part-b.jpg", jpeg, "image/jpeg")])
    assert response.status_code == 200, response.text
    results = response.json()["results"]

    frames = sorted(kept_frames(client, 2), key=lambda frame: frame["source_name"])
    assert [frame["source_name"] for frame in frames] == ["part-a.png", "part-b.jpg"]
    for frame, result, data, media_type in zip(
        frames, results, (png, jpeg), ("image/png", "image/jpeg"), strict=True
    ):
        assert frame["insight_id"] == result["insight_id"]
        assert (frame["source"], frame["media_type"], frame["size_bytes"]) == (
            "upload",
            media_type,
            len(data),
        )
        assert frame["top_class"] == result["prediction"]
        assert frame["confidence"] == pytest.approx(result["probabilities"][result["prediction"]])
        assert frame["models_disagree"] is False
        image = client.get(f"/api/v1/admin/frames/{frame['frame_id']}", headers=ADMIN)
        assert (image.status_code, image.headers["content-type"], image.content) == (200, media_type, data)
    assert keeping_counts(client)["kept"] == 2


def test_a_label_is_feedback_joined_to_the_frames_insight(client: TestClient) -> None:
    assert upload(client, [("part.png", encoded(FRAMES[2]), "image/png")]).status_code == 200
    [frame] = kept_frames(client, 1)

    labelled = client.post(
        f"/api/v1/admin/frames/{frame['frame_id']}/label", json={"label": "crack"}, headers=ADMIN
    )
    assert labelled.status_code == 200, labelled.text
    answer = labelled.json()
    assert answer["insight_id"] == frame["insight_id"]
    outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    feedback = outbox.recent("feedback", 10)
    assert [(r["feedback_id"], r["insight_id"], r["label"]) for r in feedback] == [
        (answer["feedback_id"], frame["insight_id"], "crack")
    ]


def test_labelling_refuses_what_it_cannot_record_and_records_nothing(client: TestClient) -> None:
    assert upload(client, [("part.png", encoded(FRAMES[3]), "image/png")]).status_code == 200
    frame_id = kept_frames(client, 1)[0]["frame_id"]
    path = f"/api/v1/admin/frames/{frame_id}/label"

    not_a_class = client.post(path, json={"label": "wobble"}, headers=ADMIN)
    assert not_a_class.status_code == 422, not_a_class.text
    assert not_a_class.json()["detail"][0]["field"] == "label"
    assert client.post(path, json={}, headers=ADMIN).status_code == 422
    unknown = client.post(f"/api/v1/admin/frames/{'0' * 32}/label", json={"label": "ok"}, headers=ADMIN)
    assert unknown.status_code == 404, unknown.text
    assert client.get("/api/v1/admin/frames/not-an-id", headers=ADMIN).status_code == 404
    assert client.post(path, json={"label": "ok"}, headers={"X-Admin-Key": "wrong"}).status_code in (401, 403)
    assert client.get("/api/v1/admin/frames", headers=HEADERS).status_code in (401, 403)
    assert client.app.state.ctx.components.outbox.recent("feedback", 10) == []  # type: ignore[attr-defined]


def test_a_frame_too_large_to_keep_is_counted_and_the_answer_is_still_200(
    tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large = encoded(FRAMES[0], "JPEG", quality=10), encoded(FRAMES[1])
    assert len(small) < 2000 < len(large)
    keeping_frames(monkeypatch, tmp_path / "frames", max_bytes=2000)
    with app_client(tmp_path, bundle) as client:
        response = upload(client, [("small.jpg", small, "image/jpeg"), ("large.png", large, "image/png")])
        assert response.status_code == 200, response.text
        assert len(client.app.state.ctx.components.outbox.recent("insight", 10)) == 2  # type: ignore[attr-defined]
        wait_until(lambda: sum(keeping_counts(client).values()) >= 2, WAIT, "both frames kept or counted")
        kept = client.get("/api/v1/admin/frames", headers=ADMIN).json()["frames"]
        assert [frame["source_name"] for frame in kept] == ["small.jpg"]
        counts = keeping_counts(client)
    assert (counts["kept"], counts["too_large"], counts["store_error"]) == (1, 1, 0)


def test_a_site_that_keeps_no_frames_says_so(
    tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCORING_FRAMES_DIR", raising=False)
    with app_client(tmp_path, bundle) as client:
        assert upload(client, [("part.png", encoded(FRAMES[0]), "image/png")]).status_code == 200
        assert client.get("/api/v1/admin/frames", headers=ADMIN).status_code == 409
        assert "edgeloop_frames_keeping" not in client.get("/metrics").text


def test_camera_frames_are_kept_as_jpeg_with_their_camera_and_insight(
    tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeping_frames(monkeypatch, tmp_path / "frames")
    video = write_test_video(tmp_path / "line.mp4", frames=20, fps=10)
    camera = {"id": "press-3", "url": str(video), "sample_fps": 5, "batch_size": 4}
    with app_client(tmp_path, bundle, CameraSettings(cameras=json.dumps([camera]))) as client:
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        wait_until(lambda: ctx.cameras.statuses()[0].state.value == "ended", WAIT, "the file read to its end")
        ctx.cameras.stop()  # the scorer drains what was sampled
        scored = ctx.cameras.statuses()[0].frames_scored
        frames = kept_frames(client, scored)
        insights = {r["insight_id"]: r for r in ctx.components.outbox.recent("insight", 100)}
        first = client.get(f"/api/v1/admin/frames/{frames[0]['frame_id']}", headers=ADMIN).content
    assert (scored, len(frames)) == (10, 10)
    assert {(f["source"], f["source_name"], f["media_type"]) for f in frames} == {
        ("camera", "press-3", "image/jpeg")
    }
    for frame in frames:
        insight = insights[frame["insight_id"]]
        assert insight["context"] == {"source": "camera", "camera_id": "press-3"}
        assert frame["top_class"] == insight["prediction"]
    with Image.open(io.BytesIO(first)) as picture:
        assert (picture.format, picture.size) == ("JPEG", (160, 120))
