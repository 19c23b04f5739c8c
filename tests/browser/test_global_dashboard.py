"""The global dashboard in a real headless Chromium, served by uvicorn over a seeded SQLite store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from contract.insight_factory import seed_sites
from playwright.sync_api import Browser, expect

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.local.azurite import free_port, wait_for_port
from global_app.app import create_app
from global_app.auth import OpenAccess

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("global") / "global.sqlite3")
    store.upsert(seed_sites(sites=4, hours=12, per_hour=10))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(store, OpenAccess()), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port, timeout=20)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


def test_the_dashboard_shows_the_seeded_sites(browser: Browser, dashboard_url: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    started = time.monotonic()
    page.goto(dashboard_url + "/")
    assert time.monotonic() - started < 5
    expect(page.locator("#access-mode")).to_contain_text("Open access")
    rows = page.locator("#site-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(3).locator("td").nth(0)).to_have_text("site-3")
    expect(rows.nth(3).locator("td").nth(3)).to_have_text("40.0%")  # 4 of every 10 anomalous
    expect(page.locator("#overall-row td").nth(0)).to_have_text("480")
    expect(page.locator("#rate-chart g.series")).to_have_count(4)
    expect(page.locator(".legend li")).to_have_count(4)
    anomalies = page.locator("#anomaly-table tbody tr")
    expect(anomalies).to_have_count(20)
    expect(anomalies.first.locator("td").nth(2)).to_have_text("failure-risk 1.1.0")
    # The stylesheet is served locally (no CDN) and applies.
    banner_colour = page.locator("#access-mode").evaluate("e => getComputedStyle(e).backgroundColor")
    assert banner_colour == "rgb(255, 244, 224)"
    page.screenshot(path=str(tmp_path / "global-dashboard.png"), full_page=True)
    page.close()


def test_a_range_narrows_the_dashboard_and_a_bad_one_explains_itself(
    browser: Browser, dashboard_url: str
) -> None:
    page = browser.new_page()
    page.goto(dashboard_url + "/")
    page.fill("input[name=from]", "2024-05-01T12:00:00Z")
    page.fill("input[name=to]", "2024-05-01T14:00:00Z")
    page.click("button[type=submit]")
    expect(page.locator("#overall-row td").nth(0)).to_have_text("80")  # 2 hours x 4 sites x 10
    page.fill("input[name=from]", "next tuesday")
    page.click("button[type=submit]")
    expect(page.locator("[role=alert]")).to_contain_text("Parameter from")
    page.close()
