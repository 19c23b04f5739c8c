"""Shared helpers of the browser tests: how Chromium is launched here, and the scoring form it drives."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from edgeloop.config.scoring import ScoringSettings
from localdev.azurite import free_port, wait_for_port
from scoring_app import create_app

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


def label_before(cell: Locator) -> str:
    """What a phone shows before a table cell's value: its ``::before``, quoted (``'"Risk: "'``)."""
    return str(cell.evaluate("e => getComputedStyle(e, '::before').content"))


@dataclass(frozen=True)
class ScoringServer:
    """A scoring app on uvicorn: the base URL the browser opens, and the app itself to look inside."""

    url: str
    app: FastAPI

    @property
    def outbox(self) -> Any:
        return self.app.state.ctx.components.outbox


# (bundle, work directory) -> the scoring app serving that bundle (tests/browser/conftest.py).
ServeScoringApp = Callable[[Path, Path], ScoringServer]


@contextmanager
def serving_scoring_app(bundle: Path, work: Path) -> Iterator[ScoringServer]:
    """The scoring app over ``bundle`` on a free port, in a thread (outbox and key file in ``work``).

    No relay: what a scoring sends stays in the SQLite outbox, where a test can count it.
    """
    settings = ScoringSettings(
        model_dir=bundle,
        outbox_path=work / "outbox.sqlite3",
        api_key="browser-test-key",
        api_key_file=work / "api-key",
        relay_enabled=False,
        heartbeat_interval_seconds=0,  # the form's tests read the outbox's insights only
        site_id="site-browser",
        port=free_port(),
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", settings.port, timeout=30)
    try:
        yield ScoringServer(f"http://127.0.0.1:{settings.port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
