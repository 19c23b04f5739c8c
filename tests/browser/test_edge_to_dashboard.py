"""A scoring entered on the edge form shows up on the global dashboard (real Chromium, whole system).

The local system as `make run` starts it (tests/support/local_system.py); the browser fills in
the scoring form, reports the outcome, then reloads the global dashboard until the site's
counts and the latest anomaly carry the new scoring (bounded).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import fill_reading
from support.bundles import demo_bundle
from support.local_system import SystemUnderTest, running_system

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SITE = "site-browser-e2e"
ARRIVAL_TIMEOUT = 60.0
SCREENSHOT = Path("/tmp/edgeloop-edge-to-dashboard.png")
NORMAL_READING = {
    "type": "M",
    "air_temperature_k": 298.1,
    "process_temperature_k": 308.6,
    "rotational_speed_rpm": 1551,
    "torque_nm": 42.8,
}


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[SystemUnderTest]:
    work = tmp_path_factory.mktemp("edge-to-dashboard")
    with running_system(
        work / "var", request, SCORING_MODEL_DIR=str(demo_bundle(work)), EDGELOOP_SITE_ID=SITE
    ) as running:
        yield running


def site_cells(page: Page) -> list[str]:
    row = page.locator(f'#site-table tr[data-site="{SITE}"] td')
    return [text.strip() for text in row.all_inner_texts()]


def reload_until(page: Page, system: SystemUnderTest, shown: list[str], what: str) -> float:
    """Reload the dashboard until the site row starts with ``shown``; the seconds it took."""
    started = time.monotonic()
    while True:
        page.reload()
        if site_cells(page)[: len(shown)] == shown:
            return time.monotonic() - started
        system.check_alive()
        if time.monotonic() - started > ARRIVAL_TIMEOUT:
            raise AssertionError(f"{what}: the site row shows {site_cells(page)}\n{system.diagnostics()}")
        page.wait_for_timeout(300)  # between reloads of a bounded poll


def test_a_form_scoring_reaches_the_global_dashboard(browser: Browser, system: SystemUnderTest) -> None:
    # Some earlier scorings (typical readings, none anomalous), so the new one is seen as an increment.
    rows = [NORMAL_READING | {"tool_wear_min": wear} for wear in (0, 10, 50, 100)]
    assert not any(result["anomaly"] for result in system.score(rows))
    dashboard = browser.new_page(viewport={"width": 1280, "height": 1100})
    dashboard.goto(system.global_url + "/")
    reload_until(dashboard, system, [SITE, "4", "0"], "the first four scorings")
    expect(dashboard.locator("#anomaly-table")).to_have_count(0)

    form = browser.new_page(viewport={"width": 1200, "height": 1000})
    form.goto(system.scoring_url + "/")
    fill_reading(form, product_id="L50001")
    form.click("button.primary")
    expect(form.locator("#anomaly-badge")).to_have_text("Anomaly")
    risk_percent = float(form.inner_text("#risk").split()[0])
    insight_id = form.inner_text("#result-insight")
    form.locator(f'#recent tr[data-insight-id="{insight_id}"] button', has_text="did not fail").click()
    expect(form.locator("#flash")).to_contain_text(f"{insight_id} recorded as did not fail")

    # Scored 5, one anomaly, one outcome: it did not fail, so the flag was wrong (accuracy 0 %).
    took = reload_until(dashboard, system, [SITE, "5", "1", "20.0%", "1", "0.0%"], "the form's scoring")
    print(f"form scoring on the dashboard after {took:.1f} s")
    latest = dashboard.locator("#anomaly-table tbody tr")
    expect(latest).to_have_count(1)
    cells = [text.strip() for text in latest.first.locator("td").all_inner_texts()]
    assert cells[0] == SITE
    assert abs(float(cells[3]) - risk_percent / 100) < 0.0011  # the same risk as the form showed
    assert cells[5] == "no failure"
    expect(dashboard.locator("#rate-chart g.series")).to_have_count(1)
    dashboard.screenshot(path=str(SCREENSHOT), full_page=True)
    form.close()
    dashboard.close()
