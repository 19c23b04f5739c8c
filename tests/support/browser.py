"""Shared helpers of the browser tests: how Chromium is launched here, and the scoring form."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# A reading the demo model scores far above its threshold (an anomaly).
HIGH_RISK_READING = {
    "air_temperature_k": "298.1",
    "process_temperature_k": "308.6",
    "rotational_speed_rpm": "1300",
    "torque_nm": "72.8",
    "tool_wear_min": "240",
}


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def fill_reading(page: Page, product_id: str = "L47182", **overrides: str) -> None:
    """Fill the edge scoring form with a type L high-risk reading (``overrides`` by field name)."""
    page.select_option("#f-type", "L")
    for name, value in {**HIGH_RISK_READING, **overrides}.items():
        page.fill(f"#f-{name}", value)
    page.fill("#f-product_id", product_id)
