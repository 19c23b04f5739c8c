"""The form of an image model in a real headless Chromium: a generated defect picture uploaded,
the class drawn over it, the outcome marked wrong with another class and found in the outbox.

The vision demo's bundle (edgeloop/recipes/surface_defects.py) on real onnxruntime, a real SQLite
outbox, real Pillow decoding; the expected class is what the graph itself gives for the frame.
A phone-sized page offers the camera; a bad file is named in the form and nothing is recorded.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import ScoringServer, ServeScoringApp
from support.image_bundles import surface_bundle
from support.image_files import encoded, gif

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.domain.image_batches import prepare_batch
from edgeloop.recipes import surface_images

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
FRAMES, LABELS = surface_images.generate([0, 0, 0, 1], seed=31)  # one crack


@pytest.fixture(scope="module")
def vision(tmp_path_factory: pytest.TempPathFactory, serve_scoring_app: ServeScoringApp) -> ScoringServer:
    work = tmp_path_factory.mktemp("form-vision")
    return serve_scoring_app(surface_bundle(work / "bundle"), work)


def graph_prediction(server: ScoringServer) -> tuple[str, float]:
    """The class the served graph gives the crack frame, and its probability."""
    model: OnnxModel = server.app.state.ctx.components.model.current
    assert model.manifest.image_input is not None
    outputs = model.predict_images(prepare_batch([FRAMES[0]], model.manifest.image_input))
    probabilities = {name: float(outputs[f"p_{name}"][0]) for name in surface_images.CLASSES}
    predicted = max(probabilities, key=probabilities.__getitem__)
    return predicted, probabilities[predicted]


def upload(page: Page, name: str, data: bytes, mime_type: str) -> None:
    page.set_input_files("#f-image", files=[{"name": name, "mimeType": mime_type, "buffer": data}])
    page.click("#image-form button.primary")


def insight_count(server: ScoringServer) -> int:
    return len(server.outbox.recent("insight", 100))


def test_a_defect_picture_is_drawn_with_its_class_and_marked_wrong(
    browser: Browser, vision: ScoringServer
) -> None:
    predicted, probability = graph_prediction(vision)
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(vision.url + "/")
    upload(page, "part-crack.png", encoded(FRAMES[0]), "image/png")

    picture, label = page.locator("#result-image"), page.locator("#scored-image .overlay-label")
    expect(label).to_have_text(f"{predicted} {probability * 100:.1f} %")
    assert page.evaluate("document.getElementById('result-image').naturalWidth") == surface_images.SIZE
    # Drawn on the picture: the label lies inside the image's box, over its top edge.
    image_box, label_box = picture.bounding_box(), label.bounding_box()
    assert image_box is not None
    assert label_box is not None
    assert image_box["x"] <= label_box["x"] < image_box["x"] + image_box["width"]
    assert image_box["y"] <= label_box["y"] < image_box["y"] + image_box["height"] / 2
    expect(page.locator("#class-bars li")).to_have_count(len(surface_images.CLASSES))
    expect(page.locator("#class-bars li.predicted .bar-name")).to_have_text(predicted)

    insight_id = page.inner_text("#result-insight")
    other = next(name for name in surface_images.CLASSES if name != predicted)
    page.select_option("#outcome-class", other)
    page.click("#outcome-wrong")
    expect(page.locator("#flash")).to_contain_text(f"{insight_id} recorded as {other}")
    [feedback] = vision.outbox.recent("feedback", 10)
    assert (feedback["insight_id"], feedback["label"]) == (insight_id, other)
    page.close()


def test_on_a_phone_the_form_opens_the_camera(browser: Browser, vision: ScoringServer) -> None:
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(vision.url + "/")
    camera = page.locator("#f-image")
    expect(camera).to_be_visible()
    expect(camera).to_have_attribute("capture", "environment")
    expect(camera).to_have_attribute("accept", "image/jpeg,image/png")
    box = camera.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.close()


def test_a_bad_file_is_named_and_nothing_is_recorded(browser: Browser, vision: ScoringServer) -> None:
    before = insight_count(vision)
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(vision.url + "/")
    upload(page, "anim.gif", gif(FRAMES[0]), "image/gif")
    expect(page.locator("#e-image")).to_have_text("anim.gif: not a JPEG or PNG image")
    expect(page.locator("#result")).to_have_count(0)
    assert insight_count(vision) == before
    page.close()
