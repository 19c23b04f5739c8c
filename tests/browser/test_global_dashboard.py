"""The global dashboard in a real headless Chromium, served by uvicorn over a seeded SQLite store."""

from __future__ import annotations

import math
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from contract.insight_factory import insight, seed_sites, seed_tasks
from playwright.sync_api import Browser, expect

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import InsightRecord
from global_app.app import create_app
from global_app.auth import OpenAccess
from localdev.azurite import free_port, wait_for_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GAPPY_T0 = datetime(2026, 11, 18, tzinfo=UTC)
GAPPY_RANGE = "?from=2026-11-18T00:00Z&to=2026-11-21T00:00Z"
SCREENSHOTS = Path(tempfile.gettempdir())  # kept after the run, to look at


@contextmanager
def serving(store: SqliteInsightStore) -> Iterator[str]:
    """The global app over ``store`` on uvicorn in a thread; its base URL."""
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


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("global") / "global.sqlite3")
    store.upsert(seed_sites(sites=4, hours=12, per_hour=10))
    with serving(store) as url:
        yield url
    store.close()


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Thirty sites, two insights each (the first an anomaly): more sites and anomalies than a page."""
    store = SqliteInsightStore(tmp_path_factory.mktemp("fleet") / "global.sqlite3")
    store.upsert(
        [
            insight(f"site-{s:02d}", row=n, batch=f"fleet{s:02d}", at=GAPPY_T0 + timedelta(minutes=2 * s + n),
                    anomaly=n == 0)
            for s in range(30)
            for n in range(2)
        ]
    )  # fmt: skip
    with serving(store) as url:
        yield url
    store.close()


@pytest.fixture(scope="module")
def tasks_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One binary, one multiclass and one regression model (tests/contract/insight_factory.py)."""
    store = SqliteInsightStore(tmp_path_factory.mktemp("tasks") / "global.sqlite3")
    store.upsert(seed_tasks(hours=3))
    with serving(store) as url:
        yield url
    store.close()


def gappy_history() -> list[InsightRecord]:
    """Five sites over three days: steady, silent for an afternoon, flaky, one lone hour, steady."""
    records = []
    for s, site in enumerate(("plant-a", "plant-b", "plant-c", "plant-d", "plant-e")):
        for h in range(72):
            if (s == 1 and 38 <= h < 45) or (s == 2 and h % 5 == 2) or (s == 3 and h != 60):
                continue
            rate = 0.03 * (s + 1) + 0.04 * (1 + math.sin((h + 5 * s) / 24 * 2 * math.pi))
            records += [
                insight(site, row=h * 20 + n, batch=site, at=GAPPY_T0 + timedelta(hours=h, minutes=3 * n),
                        anomaly=n < round(20 * rate))
                for n in range(20)
            ]  # fmt: skip
    return records


@pytest.fixture(scope="module")
def gappy_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("gappy") / "global.sqlite3")
    store.upsert(gappy_history())
    with serving(store) as url:
        yield url
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


@pytest.mark.parametrize(("name", "width"), [("desktop", 1280), ("phone", 390)])
def test_a_history_with_gaps_reads_at_desktop_and_phone_width(
    browser: Browser, gappy_url: str, name: str, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(gappy_url + "/" + GAPPY_RANGE)
    expect(page.locator("#range-note")).to_contain_text("Wed 18 Nov 2026 00:00 to Sat 21 Nov 2026 00:00 UTC")
    # The page itself never scrolls sideways; a table too wide scrolls inside its card.
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    table_scrolls = page.locator("#site-table").locator("..").evaluate("e => e.scrollWidth > e.clientWidth")
    assert table_scrolls == (width < 600)
    chart = page.locator("#rate-chart")
    expect(chart.locator("g.series")).to_have_count(5)
    expect(chart.locator('g.series[data-site="plant-b"] path.line')).to_have_attribute(
        "d", re.compile(r"M.*M")
    )
    # The lone hour is a marker big enough to see, and the tick labels are legible at this width.
    lone = chart.locator('g.lone-hours[data-site="plant-d"] path.mk').bounding_box()
    assert lone is not None
    assert lone["width"] >= 4
    tick = chart.locator("text.tick.y").first.bounding_box()
    assert tick is not None
    assert tick["height"] >= 9
    page.screenshot(path=str(SCREENSHOTS / f"edgeloop-global-dashboard-{name}.png"), full_page=True)
    page.close()


def test_the_range_inputs_show_examples_in_a_lighter_style(browser: Browser, gappy_url: str) -> None:
    page = browser.new_page()
    page.goto(gappy_url + "/")
    field = page.locator("input[name=from]")
    expect(field).to_have_value("")
    expect(field).to_have_attribute("placeholder", re.compile(r"^e\.g\. 2026-11-\d\dT00:00Z$"))
    example = field.evaluate(
        "e => [getComputedStyle(e, '::placeholder').color, getComputedStyle(e, '::placeholder').fontStyle]"
    )
    typed = field.evaluate("e => getComputedStyle(e).color")
    assert example == ["rgb(138, 147, 163)", "italic"]
    assert typed == "rgb(29, 36, 48)"
    expect(page.locator("#range-note")).to_have_text("Showing all time")
    page.close()


def test_the_models_table_names_each_tasks_feedback_measure(browser: Browser, tasks_url: str) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.goto(tasks_url + "/")
    rows = page.locator("#model-table tbody tr")
    expect(rows).to_have_count(3)
    expected = {
        "failure-mode 2.0.0": ("multiclass", "12", "50.0%", "9", "accuracy 66.7% (of 9)"),
        "failure-risk 1.1.0": ("binary", "12", "25.0%", "6", "accuracy 50.0% (of 6)"),
        "tool-life 1.0.0": ("regression", "6", "0.0%", "6", "mean absolute error 2.5 (of 6)"),
    }
    for number, (model, cells) in enumerate(expected.items()):
        row = rows.nth(number)
        expect(row).to_have_attribute("data-model", model)
        expect(row.locator("td")).to_have_text([*model.split(" "), *cells])
    expect(page.locator("#model-table thead")).to_contain_text("Feedback quality")
    expect(page.locator("#quality-hint")).to_be_visible()
    expect(page.locator("#quality-hint")).to_contain_text("mean absolute error")
    # The latest anomalies show a multiclass model's predicted class and the class reported.
    anomalies = page.locator("#anomaly-table tbody tr", has_text="failure-mode 2.0.0")
    expect(anomalies.first.locator("td").nth(3)).to_have_text(re.compile(r"^(wear|power)$"))
    expect(page.locator("#anomaly-table")).to_contain_text("reported wear")
    page.screenshot(path=str(SCREENSHOTS / "edgeloop-global-dashboard-models.png"), full_page=True)
    page.close()


def test_the_dashboard_pages_forward_through_sites_and_insights(browser: Browser, fleet_url: str) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.goto(fleet_url + "/")
    rows = page.locator("#site-table tbody tr")
    expect(rows).to_have_count(25)
    expect(page.locator("#sites-note")).to_contain_text("30 sites with data")
    expect(page.locator("#overall-row td").nth(0)).to_have_text("60")  # every site, not the page's
    expect(page.locator("#rate-chart g.series")).to_have_count(8)  # the most anomalous: a readable chart
    page.click("#next-sites")
    expect(rows).to_have_count(5)
    expect(rows.first).to_have_attribute("data-site", "site-25")
    expect(page.locator("#next-sites")).to_have_count(0)
    page.click("#first-sites")
    expect(rows.first).to_have_attribute("data-site", "site-00")
    latest = page.locator("#anomaly-table tbody tr")
    expect(latest).to_have_count(20)
    expect(latest.first.locator("td").first).to_have_text("site-29")  # newest first
    page.click("#older-insights")
    expect(latest).to_have_count(10)
    expect(latest.first.locator("td").first).to_have_text("site-09")
    expect(page.locator("#older-insights")).to_have_count(0)
    # The filter narrows the list to one site's insights, anomalies or not.
    page.fill("#latest-filter input[name=site]", "site-03")
    page.select_option("#latest-filter select[name=outcome]", "all")
    page.click("#latest-filter button[type=submit]")
    expect(latest).to_have_count(2)
    expect(page.locator("#latest h2")).to_have_text("Latest insights at site-03")
    page.close()
