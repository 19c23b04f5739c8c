"""The vision view in a real headless Chromium, served by uvicorn over a seeded SQLite store:
from the dashboard to the cameras, to one site's defect rate chart and class mix, and at phone
width. Frames are seeded in the last hours (the view's default range is the last 24)."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from contract.vision_factory import frame
from playwright.sync_api import Browser, expect

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import utc_now
from global_app.app import create_app
from global_app.auth import OpenAccess
from localdev.azurite import free_port, wait_for_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(tempfile.gettempdir())  # kept after the run, to look at
DEFECT = ("alert_class",)


@pytest.fixture(scope="module")
def vision_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("vision") / "global.sqlite3")
    start = utc_now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    frames = [  # line-1: one frame in four a scratch, in each of five hours
        frame("line-1", "scratch" if n % 4 == 0 else "ok", minutes=n * 3, kinds=DEFECT if n % 4 == 0 else (),
              row=n, start=start)
        for n in range(100)
    ]  # fmt: skip
    frames += [frame("line-2", "dent", site="plant-south", kinds=DEFECT, minutes=10, start=start)]
    frames += [frame(None, "ok", minutes=30, start=start)]
    store.upsert(frames)
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


def test_the_vision_view_leads_from_cameras_to_a_sites_defect_rate_and_class_mix(
    browser: Browser, vision_url: str
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(vision_url + "/")
    page.click("#vision-link")
    rows = page.locator("#vision-table tbody tr")
    expect(rows).to_have_count(3)
    line = page.locator("tr[data-site=site-a][data-camera=line-1]")
    expect(line.locator(".defect-rate")).to_have_text("25.0%")
    expect(line.locator(".classes")).to_have_text("ok 75, scratch 25")
    expect(page.locator("tr[data-site=plant-south] .defect-rate")).to_have_text("100.0%")
    page.screenshot(path=str(SCREENSHOTS / "edgeloop-vision.png"), full_page=True)

    line.locator("a").click()
    expect(page.locator("#site-frames")).to_have_text("101")
    chart = page.locator("#chart-defect-rate-0")
    expect(chart).to_have_attribute("data-points", "5")
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300  # drawn, at a readable size
    mix = page.locator("section[data-camera=line-1] .class-mix tbody tr")
    expect(mix).to_have_count(2)
    expect(mix.nth(0)).to_have_attribute("data-class", "ok")  # most seen first
    expect(mix.nth(1).locator("td").nth(2)).to_have_text("25.0%")
    expect(page.locator("section.camera").nth(1).locator("h2")).to_have_text("Uploaded images")
    page.screenshot(path=str(SCREENSHOTS / "edgeloop-vision-site.png"), full_page=True)
    page.close()


def test_the_vision_view_reads_at_phone_width(browser: Browser, vision_url: str) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto(vision_url + "/vision/site-a")
    expect(page.locator("#chart-defect-rate-0")).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390  # tables scroll in their cards
    page.goto(vision_url + "/vision/plant-west")
    expect(page.locator("#no-vision")).to_contain_text("No image insights from plant-west")
    page.close()
