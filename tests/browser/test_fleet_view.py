"""The fleet view in a real headless Chromium, served by uvicorn over a seeded SQLite store.

Statuses are seeded relative to the time now (the view derives each state from it): one site
reporting, one silent for 40 minutes, one with a backlog and drifting inputs.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from contract.insight_factory import insight
from playwright.sync_api import Browser, expect

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import ModelRef, utc_now
from edgeloop.domain.site_status import DriftSummary, SiteStatusRecord, new_status_id
from global_app.app import create_app
from global_app.auth import OpenAccess
from localdev.azurite import free_port, wait_for_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(tempfile.gettempdir())  # kept after the run, to look at
MODEL = ModelRef("ai4i-failure", "1.2.0", "ab" * 32)


def beat(site: str, ago: timedelta, **fields: Any) -> SiteStatusRecord:
    return SiteStatusRecord(new_status_id(), site, utc_now() - ago, model=MODEL, **fields)


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("fleet") / "global.sqlite3")
    history = [
        beat("plant-north", timedelta(seconds=30 * n), outbox_depth=(n * 7) % 40) for n in range(120, 0, -1)
    ]
    drift = DriftSummary("drift", 1200, {"torque_nm": {"psi": 0.31, "status": "drift"}})
    store.upsert_site_status(
        [
            *history,
            beat("plant-south", timedelta(minutes=40), outbox_depth=12),
            beat("plant-east", timedelta(seconds=15), outbox_depth=48_000, drift=drift),
        ]
    )
    hour = utc_now().replace(minute=0, second=0, microsecond=0)
    store.upsert([insight("plant-north", row=n, at=hour, anomaly=n % 5 == 0) for n in range(20)])
    port = free_port()
    app = create_app(store, OpenAccess())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port, timeout=20)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


def test_the_fleet_shows_each_sites_state_and_leads_to_its_history(browser: Browser, fleet_url: str) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(fleet_url + "/")
    page.click("#fleet-link")
    rows = page.locator("#fleet-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("tr[data-site=plant-north] .state")).to_have_text("ok")
    expect(page.locator("tr[data-site=plant-south] .state")).to_have_text("offline")
    expect(page.locator("tr[data-site=plant-south] .last-seen")).to_have_text("last seen 40 minutes ago")
    expect(page.locator("tr[data-site=plant-east] .state")).to_have_text("degraded")
    expect(page.locator("tr[data-site=plant-east] .reasons")).to_contain_text("inputs drift")
    expect(page.locator("tr[data-site=plant-east] .backlog")).to_have_text("48,000")
    expect(page.locator("tr[data-site=plant-north] .serving")).to_have_text("ai4i-failure 1.2.0")
    expect(page.locator("tr[data-site=plant-north] td").nth(5)).to_have_text("20.0%")
    page.screenshot(path=str(SCREENSHOTS / "edgeloop-fleet.png"), full_page=True)

    page.click("tr[data-site=plant-north] a")
    expect(page.locator("#site-summary")).to_have_attribute("data-state", "ok")
    backlog = page.locator("#chart-backlog")
    expect(backlog).to_have_attribute("data-points", "120")
    box = backlog.bounding_box()
    assert box is not None
    assert box["width"] > 300  # drawn, at a readable size
    expect(page.locator("#chart-anomaly-rate")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "edgeloop-fleet-site.png"), full_page=True)
    page.close()


def test_the_fleet_reads_at_phone_width_and_an_unknown_site_explains_itself(
    browser: Browser, fleet_url: str
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto(fleet_url + "/fleet")
    expect(page.locator("#fleet-table tbody tr")).to_have_count(3)
    # The page never scrolls sideways; the wide table scrolls inside its card.
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.goto(fleet_url + "/fleet/plant-west")
    expect(page.locator("#site-missing")).to_contain_text("no site 'plant-west'")
    page.close()


def test_the_fleet_pages_attention_first_and_filters_by_state(browser: Browser, fleet_url: str) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(fleet_url + "/fleet?limit=2")
    rows = page.locator("#fleet-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-site", "plant-south")  # offline first, then degraded
    expect(rows.nth(1)).to_have_attribute("data-site", "plant-east")
    expect(page.locator("#page-note")).to_contain_text("Page 1 of 2")
    page.click("#fleet-pager a[rel=next]")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_have_attribute("data-site", "plant-north")
    expect(page.locator("#fleet-pager a[rel=prev]")).to_be_visible()
    page.click("#fleet-filter a[data-filter=degraded]")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_have_attribute("data-site", "plant-east")
    expect(page.locator("#fleet-filter a[data-filter=degraded]")).to_have_attribute("aria-current", "true")
    page.close()
