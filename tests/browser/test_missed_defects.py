"""'Add a missed defect' on a detection result, in a real headless Chromium: the operator drags a box
over the picture (a mouse on a desktop; a finger on a phone, as real touch input through the
DevTools protocol), picks its class, can type a box instead and remove one, and the feedback the
site stores in its outbox carries the verdicts and the drawn boxes as one label; a box the
use case refuses (a class the model does not have) is named on the page, nothing stored.

The tiny detection bundle (tests/support/detection_bundles.py: a dark quadrant is a ``stain``
there), a real SQLite outbox, real Pillow decoding; the label is read back with the grammar's
parser (edgeloop.domain.detection_labels).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, CDPSession, Page, expect
from support.browser import ScoringServer, ServeScoringApp
from support.detection_bundles import quadrant_frame, tiny_detection_bundle
from support.image_files import encoded

from edgeloop.domain.detection_labels import MissedDefect, parse_detection_label

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def detector(tmp_path_factory: pytest.TempPathFactory, serve_scoring_app: ServeScoringApp) -> ScoringServer:
    work = tmp_path_factory.mktemp("form-missed")
    return serve_scoring_app(tiny_detection_bundle(work / "bundle"), work)


def score_picture(page: Page, detector: ScoringServer, dark: tuple[int, ...]) -> str:
    page.goto(detector.url + "/")
    picture = encoded(quadrant_frame(dark))
    page.set_input_files(
        "#f-image", files=[{"name": "panel.png", "mimeType": "image/png", "buffer": picture}]
    )
    page.click("#image-form button.primary")
    expect(page.locator("#missed")).to_be_visible()
    return page.inner_text("#result-insight")


def on_picture(page: Page, x: float, y: float) -> tuple[float, float]:
    """The page point at fractions ``x``, ``y`` of the scored picture."""
    box = page.locator("#result-image").bounding_box()
    assert box is not None
    return box["x"] + x * box["width"], box["y"] + y * box["height"]


def stored_label(detector: ScoringServer, insight_id: str) -> str:
    labels = [f["label"] for f in detector.outbox.recent("feedback", 50) if f["insight_id"] == insight_id]
    assert len(labels) == 1, labels
    return str(labels[0])


def finger(touch: CDPSession, page: Page, points: list[tuple[float, float]]) -> None:
    """A finger put down on the first point, moved through the others and lifted, as a person does:
    a step every 30 ms and a rest before lifting (a fast flick would be a fling, whose end the
    browser takes as a tap that stops it: the next tap would then click nothing)."""
    (x, y), *rest = points
    touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for x, y in rest:
        touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        page.wait_for_timeout(30)
    page.wait_for_timeout(300)
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def assert_missed(found: MissedDefect, name: str, box: tuple[float, float, float, float]) -> None:
    assert found.class_name == name
    assert found.box == pytest.approx(box, abs=0.02)


def test_a_box_dragged_with_the_mouse_is_drawn_listed_and_stored_with_the_verdicts(
    browser: Browser, detector: ScoringServer
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    insight_id = score_picture(page, detector, (0, 3))  # two stains: top left, bottom right
    page.check("#verdict-0 input[value=accept]")
    page.check("#verdict-1 input[value=reject]")

    page.select_option("#missed-class", "glare")
    page.click("#missed-add")
    expect(page.locator("#missed-add")).to_have_attribute("aria-pressed", "true")
    page.mouse.move(*on_picture(page, 0.55, 0.1))
    page.mouse.down()
    page.mouse.move(*on_picture(page, 0.9, 0.4), steps=6)
    page.mouse.up()
    drawn = page.locator("#scored-image .overlay-missed")
    expect(drawn).to_have_count(1)
    expect(drawn.locator(".overlay-label")).to_have_text("missed 1 glare")
    left, top = on_picture(page, 0.55, 0.1)
    drawn_box = drawn.bounding_box()
    assert drawn_box is not None
    assert (drawn_box["x"], drawn_box["y"]) == (pytest.approx(left, abs=3), pytest.approx(top, abs=3))
    expect(page.locator("#missed-list li")).to_have_count(1)
    expect(page.locator("#missed-add")).to_have_attribute("aria-pressed", "false")

    # A second box typed in (keyboard only), then removed again from the list.
    page.click("#missed-manual summary")
    for corner, value in zip(("x1", "y1", "x2", "y2"), ("10", "60", "30", "90"), strict=True):
        page.fill(f"#missed-{corner}", value)
    page.focus("#missed-enter")
    page.keyboard.press("Enter")
    expect(page.locator("#missed-list li")).to_have_count(2)
    expect(page.locator("#missed-list li").nth(1)).to_contain_text(
        "glare: 10 % to 30 % across, 60 % to 90 % down"
    )
    page.focus("#missed-list li >> nth=0 >> button")
    page.keyboard.press("Enter")
    expect(page.locator("#missed-list li")).to_have_count(1)
    expect(page.locator("#scored-image .overlay-missed .overlay-label")).to_have_text("missed 1 glare")

    page.click("#verdicts-report")
    expect(page.locator("#flash")).to_contain_text(
        f"{insight_id} recorded as accept,reject;glare@0.1,0.6,0.3,0.9"
    )
    label = parse_detection_label(stored_label(detector, insight_id), ("stain", "glare"))
    assert label.verdicts == (True, False)
    [missed] = label.missed
    assert_missed(missed, "glare", (0.1, 0.6, 0.3, 0.9))
    page.close()


def test_on_a_phone_a_finger_draws_a_missed_defect_on_a_picture_with_no_detection(
    browser: Browser, detector: ScoringServer
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    insight_id = score_picture(page, detector, ())  # a clean picture: nothing to judge, one thing missed
    expect(page.locator("#verdicts fieldset.verdict")).to_have_count(0)
    page.tap("#missed-add")
    page.locator("#result-image").scroll_into_view_if_needed()
    finger(
        context.new_cdp_session(page),
        page,
        [on_picture(page, 0.5 + k * 0.07, 0.5 + k * 0.07) for k in range(6)],
    )
    expect(page.locator("#scored-image .overlay-missed")).to_have_count(1)
    expect(page.locator("#missed-list li")).to_contain_text("stain")

    page.tap("#verdicts-report")
    expect(page.locator("#flash")).to_contain_text(f"{insight_id} recorded as ;stain@0.5")
    label = parse_detection_label(stored_label(detector, insight_id), ("stain", "glare"))
    assert label.verdicts == ()
    [missed] = label.missed
    assert_missed(missed, "stain", (0.5, 0.5, 0.85, 0.85))
    context.close()


def test_a_missed_box_the_use_case_refuses_is_named_on_the_page_and_nothing_is_stored(
    browser: Browser, detector: ScoringServer
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    insight_id = score_picture(page, detector, (0,))
    page.check("#verdict-0 input[value=accept]")
    page.click("#missed-manual summary")
    for corner, value in zip(("x1", "y1", "x2", "y2"), ("50", "50", "90", "90"), strict=True):
        page.fill(f"#missed-{corner}", value)
    page.click("#missed-enter")
    # What a stale page or a hand-made post could send: a class the model does not have.
    page.locator("#missed-list input[name=missed]").evaluate("e => { e.value = 'dent@0.5,0.5,0.9,0.9'; }")
    page.click("#verdicts-report")
    expect(page.locator(".error-box")).to_contain_text(
        "missed defect 1 ('dent@0.5,0.5,0.9,0.9'): unknown class"
    )
    assert [f for f in detector.outbox.recent("feedback", 50) if f["insight_id"] == insight_id] == []
    page.close()
