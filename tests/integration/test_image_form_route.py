"""The operator form of an image model (POST /form/score-image) with the vision demo's bundle:
in-process app, real onnxruntime graph, real SQLite outbox, real Pillow decoding.

The page offers a picture (the phone's camera) instead of fields; a scored upload comes back
drawn with its class and the per-class probabilities, recorded as one insight, and its outcome is
taken by the form's feedback route; a bad file is named in the form's error view with the API's
status, and nothing is recorded; a post without the session's CSRF token is refused.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from support.image_bundles import surface_bundle
from support.image_files import encoded, gif, png_bomb

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.config.scoring import ScoringSettings
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.recipes import surface_images
from scoring_app import create_app

PATH = "/form/score-image"
FRAMES, LABELS = surface_images.generate([1, 1, 1, 1], seed=77)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return surface_bundle(tmp_path_factory.mktemp("vision-form"))


def settings_for(work: Path, bundle: Path, **overrides: Any) -> ScoringSettings:
    return ScoringSettings(
        model_dir=bundle,
        outbox_path=work / "outbox.sqlite3",
        api_key="test-key-0123456789",
        api_key_file=work / "api-key",
        relay_enabled=False,
        site_id="site-vision-form",
        image_max_bytes=200_000,
        image_max_pixels=1_000_000,
        **overrides,
    )


@pytest.fixture
def client(tmp_path: Path, bundle: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(tmp_path, bundle))) as test_client:
        yield test_client


def records(client: TestClient, kind: str) -> list[dict[str, Any]]:
    outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    found: list[dict[str, Any]] = outbox.recent(kind, 100)
    return found


def csrf(client: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/").text)
    assert match is not None
    return match.group(1)


def post_picture(client: TestClient, name: str, data: bytes, content_type: str, token: str) -> Any:
    return client.post(PATH, data={"csrf_token": token}, files={"image": (name, data, content_type)})


def image_error(page: str) -> str:
    match = re.search(r'id="e-image"[^>]*>([^<]*)<', page)
    assert match is not None
    return html.unescape(match.group(1))


def test_the_page_of_an_image_model_offers_a_picture_taken_with_the_camera(client: TestClient) -> None:
    page = client.get("/").text
    assert re.search(r'<form id="image-form"[^>]*enctype="multipart/form-data"', page)
    file_input = re.search(r'<input id="f-image"[^>]*>', page)
    assert file_input is not None
    assert 'type="file"' in file_input[0]
    assert 'accept="image/jpeg,image/png"' in file_input[0]
    assert 'capture="environment"' in file_input[0]
    assert 'type="number"' not in page  # the image input is not offered as a number
    assert 'id="score-form"' not in page


def test_a_picture_is_scored_drawn_on_and_its_outcome_recorded(client: TestClient, bundle: Path) -> None:
    token = csrf(client)
    data = encoded(FRAMES[2])
    response = post_picture(client, "line 4 - Jane.png", data, "image/png", token)
    assert response.status_code == 200, response.text
    model = OnnxModel.load(bundle)
    assert model.manifest.image_input is not None
    direct = model.predict_images(prepare_batch([FRAMES[2]], model.manifest.image_input))
    probabilities = {name: float(direct[f"p_{name}"][0]) for name in surface_images.CLASSES}
    predicted = max(probabilities, key=probabilities.__getitem__)
    page = response.text
    # The picture shown back is the upload itself, with the class and its probability over it.
    assert f'src="data:image/png;base64,{base64.b64encode(data).decode()}"' in page
    label = re.search(r'<span class="overlay-label">([^<]*)<span class="overlay-score">([^<]*)<', page)
    assert label is not None
    assert (label[1].strip(), label[2]) == (predicted, f"{probabilities[predicted] * 100:.1f} %")
    bars = re.findall(r'<li data-class="([a-z]+)"', page)
    assert bars == list(surface_images.CLASSES)
    for name, value in probabilities.items():
        assert re.search(rf'data-class="{name}".*?class="bar-text">{value * 100:.1f} %<', page, re.S)
    [insight] = records(client, "insight")
    assert f'id="result-insight">{insight["insight_id"]}<' in page
    assert insight["prediction"] == predicted
    assert insight["inputs"] == {}
    assert "Jane" not in str(insight)

    other = next(name for name in surface_images.CLASSES if name != predicted)
    assert f'id="outcome-right">Right: {predicted}<' in page
    feedback = client.post(
        "/form/feedback",
        data={"csrf_token": token, "insight_id": insight["insight_id"], "label": other},
        follow_redirects=False,
    )
    assert feedback.status_code == 303
    assert [record["label"] for record in records(client, "feedback")] == [other]


def test_a_jpeg_from_a_camera_is_scored(client: TestClient) -> None:
    response = post_picture(
        client, "camera.jpg", encoded(FRAMES[0], "JPEG", quality=92), "image/jpeg", csrf(client)
    )
    assert response.status_code == 200, response.text
    assert 'src="data:image/jpeg;base64,' in response.text
    assert len(records(client, "insight")) == 1


NOISE = np.random.default_rng(0).integers(0, 256, (300, 300, 3), np.uint8)
REFUSALS = [
    ("truncated.png", encoded(FRAMES[0])[:-400], "image/png", 422, "truncated"),
    ("bomb.png", png_bomb(20_000), "image/png", 422, "pixels"),
    ("anim.gif", gif(FRAMES[0]), "image/gif", 415, "JPEG or PNG"),
    ("notes.txt", b"not a picture", "image/png", 415, "JPEG or PNG"),
    ("huge.png", encoded(NOISE), "image/png", 413, "bytes"),
]


@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "says"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_a_bad_file_is_named_in_the_form_and_nothing_is_recorded(
    client: TestClient, name: str, data: bytes, content_type: str, status: int, says: str
) -> None:
    response = post_picture(client, name, data, content_type, csrf(client))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    message = image_error(response.text)
    assert message.startswith(f"{name}: ")
    assert says.lower() in message.lower()
    assert 'id="result"' not in response.text
    assert records(client, "insight") == []


def test_no_file_or_no_token_records_nothing(client: TestClient) -> None:
    token = csrf(client)
    empty = post_picture(client, "", b"", "application/octet-stream", token)
    assert empty.status_code == 422
    assert "choose a JPEG or PNG" in image_error(empty.text)
    forged = post_picture(client, "good.png", encoded(FRAMES[0]), "image/png", "0" * 64)
    assert forged.status_code == 403
    assert records(client, "insight") == []


def test_a_body_past_the_site_limit_answers_the_form(tmp_path: Path, bundle: Path) -> None:
    with TestClient(create_app(settings_for(tmp_path, bundle, max_body_bytes=100_000))) as small:
        response = post_picture(small, "huge.png", encoded(NOISE), "image/png", csrf(small))
        assert response.status_code == 413
        assert 'id="general-error"' in response.text
        assert "100000 bytes" in response.text
        assert records(small, "insight") == []
