"""The form of a detection model in a real headless Chromium: a picture uploaded, each detection drawn
in its box with its number, class and score, one accepted and one rejected, the verdicts found in
the outbox as one typed label.

The tiny detection bundle (tests/support/detection_bundles.py: a real graph on onnxruntime whose
detections are known: a dark quadrant is a ``stain`` in that quadrant), a real SQLite outbox,
real Pillow decoding.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from support.browser import ScoringServer, ServeScoringApp
from support.detection_bundles import quadrant_frame, tiny_detection_bundle
from support.image_files import encoded

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory, serve_scoring_app: ServeScoringApp) -> ScoringServer:
    work = tmp_path_factory.mktemp("form-detection")
    return serve_scoring_app(tiny_detection_bundle(work / "bundle"), work)


def test_each_detection_is_drawn_in_its_box_and_judged_on_its_own(
    browser: Browser, detector: ScoringServer
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(detector.url + "/")
    picture = encoded(quadrant_frame((0, 3)))  # top-left and bottom-right dark: two stains
    page.set_input_files(
        "#f-image", files=[{"name": "panel.png", "mimeType": "image/png", "buffer": picture}]
    )
    page.click("#image-form button.primary")

    boxes = page.locator("#scored-image .overlay-box")
    expect(boxes).to_have_count(2)
    expect(boxes.nth(0).locator(".overlay-label")).to_have_text("1 stain 100.0 %")
    expect(boxes.nth(1).locator(".overlay-label")).to_have_text("2 stain 100.0 %")
    # Drawn on the picture, each in its quadrant.
    image_box = page.locator("#result-image").bounding_box()
    first, second = boxes.nth(0).bounding_box(), boxes.nth(1).bounding_box()
    assert image_box is not None
    assert first is not None
    assert second is not None
    half_width, half_height = image_box["width"] / 2, image_box["height"] / 2
    assert first["x"] == pytest.approx(image_box["x"], abs=2)
    assert first["y"] == pytest.approx(image_box["y"], abs=2)
    assert first["width"] == pytest.approx(half_width, abs=2)
    assert second["x"] == pytest.approx(image_box["x"] + half_width, abs=2)
    assert second["y"] == pytest.approx(image_box["y"] + half_height, abs=2)
    expect(page.locator("#anomaly-reason")).to_contain_text("alert class")

    insight_id = page.inner_text("#result-insight")
    page.check("#verdict-0 input[value=accept]")
    page.check("#verdict-1 input[value=reject]")
    page.click("#verdicts-report")
    expect(page.locator("#flash")).to_contain_text(f"{insight_id} recorded as accept,reject")
    [feedback] = detector.outbox.recent("feedback", 10)
    assert (feedback["insight_id"], feedback["label"]) == (insight_id, "accept,reject")
    [insight] = detector.outbox.recent("insight", 10)
    assert insight["prediction"][::6] == ["stain", "stain"]  # derived results only: no pixel, no name
    assert "panel" not in str(insight)
    page.close()
