"""The operator form of a new site: it says why it cannot score yet, then scores with the champion.

Real Chromium on a real scoring app (uvicorn, in a thread) that starts with no bundle and
reads the registry on Azurite through the read-only SAS `make run` hands a site.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from support.browser import fill_reading, serving_scoring_app
from support.bundles import demo_bundle
from support.model_loop import DATA
from support.waiting import wait_until

from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.bootstrap.retraining import publish_first_champion
from edgeloop.config.retraining import RetrainingSettings
from localdev.azurite import Azurite
from localdev.cloud import registry_read_connection

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAITING = "no model yet: waiting for the champion of ai4i-failure from the registry"


def test_a_new_sites_form_shows_why_it_waits_then_scores_with_the_champion(
    browser: Browser,
    azurite: Azurite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private, public = generate_key_pair()
    container = f"models-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    monkeypatch.setenv("SCORING_MODEL_SIGNING_PUBLIC_KEY", public)
    monkeypatch.setenv("SCORING_MODEL_REGISTRY_STORAGE", registry_read_connection(azurite, container))
    monkeypatch.setenv("SCORING_MODEL_REGISTRY_CONTAINER", container)
    monkeypatch.setenv("SCORING_MODEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SCORING_MODEL_POLL_SECONDS", "0.2")
    with serving_scoring_app(tmp_path / "seed", tmp_path) as server:  # nothing in seed/: a new site
        page = browser.new_page()
        page.goto(server.url + "/")
        expect(page.locator("#no-model-reason")).to_have_text(WAITING)
        expect(page.locator("#score-form")).to_have_count(0)

        settings = RetrainingSettings(
            CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
            MODEL_REGISTRY_CONTAINER=container,
            MODEL_SIGNING_PRIVATE_KEY=private,  # type: ignore[arg-type]
            RETRAIN_BASE_DATA=DATA,
        )
        version, _ = publish_first_champion(settings, demo_bundle(tmp_path / "bundle"))
        wait_until(lambda: server.app.state.ctx.components.model.loaded, 60, "the champion to be served")

        page.reload()
        expect(page.locator("#model-version-header")).to_have_text(str(version))
        fill_reading(page)
        page.click("button[type=submit].primary")
        expect(page.locator("#result-version")).to_have_text(str(version))
        page.close()
