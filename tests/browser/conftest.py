"""Browser fixtures: one headless Chromium per test module, and scoring apps for it to open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from playwright.sync_api import Browser
from support.browser import ServeScoringApp, chromium, serving_scoring_app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def serve_scoring_app() -> Iterator[ServeScoringApp]:
    """Starts scoring apps (support.browser.serving_scoring_app); all stop when the test module ends."""
    with ExitStack() as running:
        yield lambda bundle, work: running.enter_context(serving_scoring_app(bundle, work))
