"""The scoring form in a real headless Chromium against the real app (model, SQLite outbox)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from support.browser import ScoringServer, ServeScoringApp, fill_reading, label_before
from support.bundles import demo_bundle

from edgeloop.domain.manifest import ModelManifest, load_manifest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = Path("/tmp/edgeloop-scoring-form-phone.png")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, serve_scoring_app: ServeScoringApp
) -> tuple[ScoringServer, ModelManifest]:
    work = tmp_path_factory.mktemp("scoring-form")
    bundle = demo_bundle(work)
    return serve_scoring_app(bundle, work), load_manifest(bundle)


def outbox_depth(server: ScoringServer) -> int:
    return int(server.outbox.depth())


def test_score_then_report_the_outcome(browser: Browser, served: tuple[ScoringServer, ModelManifest]) -> None:
    server, manifest = served
    before = outbox_depth(server)
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(server.url + "/")
    expect(page.locator("label[for=f-torque_nm]")).to_contain_text("[Nm]")
    assert page.get_attribute("#f-torque_nm", "max") == str(manifest.input("torque_nm").max)
    fill_reading(page)
    page.click("button.primary")
    expect(page.locator("#risk")).to_contain_text("%")
    risk = float(page.inner_text("#risk").split()[0])
    assert risk > manifest.threshold * 100  # this reading is a known high-risk one
    expect(page.locator("#anomaly-badge")).to_have_text("Anomaly")
    expect(page.locator("#anomaly-reason")).to_contain_text("high failure risk")
    expect(page.locator("#result-version")).to_have_text(manifest.version)
    insight_id = page.inner_text("#result-insight")
    assert outbox_depth(server) == before + 1

    row = page.locator(f'#recent tr[data-insight-id="{insight_id}"]')
    expect(row).to_contain_text("L47182")
    row.locator("button", has_text="did not fail").click()
    expect(page.locator("#flash")).to_contain_text(f"{insight_id} recorded as did not fail")
    expect(page.locator(f'#recent tr[data-insight-id="{insight_id}"]')).to_contain_text(
        "reported: did not fail"
    )
    assert outbox_depth(server) == before + 2
    page.close()


def test_out_of_range_value_is_caught_in_the_browser(
    browser: Browser, served: tuple[ScoringServer, ModelManifest]
) -> None:
    server, manifest = served
    before = outbox_depth(server)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    page.goto(server.url + "/")
    fill_reading(page, torque_nm="500")
    page.click("button.primary")
    spec = manifest.input("torque_nm")
    expect(page.locator("#e-torque_nm")).to_have_text(
        f"Spindle torque must be between {spec.min} and {spec.max} Nm"
    )
    assert outbox_depth(server) == before  # nothing was sent
    page.fill("#f-torque_nm", "40")
    expect(page.locator("#e-torque_nm")).to_have_text("")
    page.click("button.primary")
    expect(page.locator("#result-version")).to_have_text(manifest.version)
    insight_id = page.inner_text("#result-insight")
    risk_cell = page.locator(f'#recent tr[data-insight-id="{insight_id}"] td').nth(2)
    expect(risk_cell).to_contain_text("%")
    assert label_before(risk_cell) == '"Risk: "'  # a binary model's recent rows show its risk
    # Readable on a phone: nothing wider than the screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()
