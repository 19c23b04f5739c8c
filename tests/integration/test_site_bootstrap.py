"""A new site bootstraps itself: no bundle of its own, it fetches, verifies and serves the champion.

Real parts: the scoring app under uvicorn (a subprocess), onnxruntime, Ed25519 signatures, the
registry on Azurite, read through the read-only SAS that `make run` hands each site
(localdev/cloud.py). Until the champion is there, ``/readyz``, the form and the API answer 503
saying why, and nothing is recorded; then the site serves the champion's version.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContainerClient
from support.bundles import valid_rows
from support.model_loop import DATA
from support.waiting import wait_until

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.bootstrap.retraining import publish_first_champion
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.manifest import load_manifest
from localdev.azurite import REPO_ROOT, Azurite, free_port
from localdev.cloud import registry_read_connection

API_KEY = "bootstrap-test-key-0123456789"
HEADERS = {"X-API-Key": API_KEY}
WAITING = "no model yet: waiting for the champion of ai4i-failure from the registry"


class NewSite:
    """A scoring app started with an empty model volume and only the registry's read-only SAS."""

    def __init__(self, tmp_path: Path, azurite: Azurite, container: str, public_key: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "scoring.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCORING_")}
        env |= {
            "EDGELOOP_LOCAL_SETTINGS": str(tmp_path / "absent.json"),
            "EdgeStorage": azurite.connection_string("edge"),
            "SCORING_PORT": str(self.port),
            "SCORING_MODEL_DIR": str(tmp_path / "seed"),  # nothing there: a new site
            "SCORING_OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
            "SCORING_API_KEY": API_KEY,
            "SCORING_RELAY_ENABLED": "false",
            # The heartbeat beats while the site waits (its own entry): off, so the outbox
            # holds what a request recorded, and only that.
            "SCORING_HEARTBEAT_INTERVAL_SECONDS": "0",
            "SCORING_MODEL_SIGNING_PUBLIC_KEY": public_key,
            "SCORING_MODEL_REGISTRY_STORAGE": registry_read_connection(azurite, container),
            "SCORING_MODEL_REGISTRY_CONTAINER": container,
            "SCORING_MODEL_POLL_SECONDS": "0.2",
            "SCORING_MODEL_CACHE_DIR": str(tmp_path / "model-cache"),
            "PYTHONUNBUFFERED": "1",
        }
        with self.log.open("wb") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scoring_app"],
                cwd=REPO_ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"scoring app exited:\n{self.log.read_text()[-3000:]}")

    def wait(self, condition: Callable[[], bool], what: str) -> None:
        wait_until(
            condition, 60, what, interval=0.1, check=self.alive, details=lambda: self.log.read_text()[-3000:]
        )

    def listening(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def readyz(self) -> httpx.Response:
        return httpx.get(f"{self.url}/readyz", timeout=10)

    def score(self, rows: list[dict[str, Any]]) -> httpx.Response:
        return httpx.post(f"{self.url}/api/v1/score", json={"rows": rows}, headers=HEADERS, timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def container() -> str:
    return f"models-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def keys() -> tuple[str, str]:
    private, public = generate_key_pair()
    return private, public


@pytest.fixture
def new_site(
    tmp_path: Path, azurite: Azurite, container: str, keys: tuple[str, str]
) -> Iterator[Callable[[str], NewSite]]:
    started: list[NewSite] = []

    def start(public_key: str = keys[1]) -> NewSite:
        site = NewSite(tmp_path, azurite, container, public_key)
        started.append(site)
        site.wait(site.listening, "the new site to listen")
        return site

    yield start
    for site in started:
        site.stop()


def publish_champion(azurite: Azurite, container: str, private_key: str, bundle: Path) -> str:
    """What the cloud does (with its own key to the account): the bundle becomes the first champion."""
    settings = RetrainingSettings(
        CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
        MODEL_REGISTRY_CONTAINER=container,
        MODEL_SIGNING_PRIVATE_KEY=private_key,  # type: ignore[arg-type]
        RETRAIN_BASE_DATA=DATA,
    )
    version, _ = publish_first_champion(settings, bundle)
    return str(version)


def test_an_empty_new_site_says_why_it_waits_then_serves_the_champion(
    azurite: Azurite,
    new_site: Callable[..., NewSite],
    container: str,
    keys: tuple[str, str],
    demo_bundle_dir: Path,
) -> None:
    site = new_site()
    site.wait(lambda: site.readyz().json().get("detail") == WAITING, "the reason it waits")
    waiting = site.readyz()
    assert waiting.status_code == 503
    assert waiting.json()["checks"]["model"] == {
        "ok": False,
        "reason": WAITING,
        "execution_providers_requested": ["CPUExecutionProvider"],
    }
    assert waiting.json()["checks"]["model_delivery"]["serving"] is None

    rows = valid_rows(load_manifest(demo_bundle_dir), 3, seed=11)
    refused = site.score(rows)
    assert refused.status_code == 503, refused.text
    assert refused.json()["detail"] == f"{WAITING}; nothing was recorded"
    assert refused.headers["Retry-After"]
    page = httpx.get(f"{site.url}/", timeout=10)
    assert page.status_code == 503
    assert WAITING in page.text
    assert 'id="score-form"' not in page.text
    assert httpx.get(f"{site.url}/metrics", timeout=10).status_code == 200
    assert site.readyz().json()["checks"]["outbox"]["depth"] == 0  # nothing half-recorded

    version = publish_champion(azurite, container, keys[0], demo_bundle_dir)
    site.wait(lambda: site.readyz().status_code == 200, "the site to serve the champion")
    ready = site.readyz().json()["checks"]
    assert ready["model"]["ok"] is True
    assert ready["model"]["version"] == version
    assert ready["model_delivery"]["serving"] == version
    scored = site.score(rows)
    assert scored.status_code == 200, scored.text
    assert scored.json()["model"] == {"name": "ai4i-failure", "version": version}
    assert len(scored.json()["results"]) == 3
    page = httpx.get(f"{site.url}/", timeout=10)
    assert page.status_code == 200
    assert 'id="score-form"' in page.text
    assert f'id="model-version-header">{version}<' in page.text


def test_a_new_site_shows_the_last_refusal_as_its_reason(
    azurite: Azurite,
    new_site: Callable[..., NewSite],
    container: str,
    keys: tuple[str, str],
    demo_bundle_dir: Path,
) -> None:
    publish_champion(azurite, container, keys[0], demo_bundle_dir)
    site = new_site(generate_key_pair()[1])  # trusts another key than the cloud signs with

    def refused() -> bool:
        return "champion pointer was refused" in str(site.readyz().json().get("detail"))

    site.wait(refused, "the refusal as the reason")
    answer = site.readyz()
    assert answer.status_code == 503
    assert "unknown_key" in answer.json()["detail"]
    assert site.score(valid_rows(load_manifest(demo_bundle_dir), 1, seed=3)).status_code == 503


def test_the_registry_sas_a_site_gets_reads_but_cannot_write(
    azurite: Azurite, container: str, keys: tuple[str, str], demo_bundle_dir: Path
) -> None:
    version = publish_champion(azurite, container, keys[0], demo_bundle_dir)
    sas = registry_read_connection(azurite, container)
    assert "AccountKey" not in sas
    site_view = BlobModelRegistry.from_connection_string(sas, container, site_side=True)
    assert site_view.signed_champion("ai4i-failure") is not None  # reads and lists
    assert set(site_view.fetch("ai4i-failure", version))

    client = ContainerClient.from_connection_string(sas, container)
    with pytest.raises(HttpResponseError) as upload:
        client.upload_blob("ai4i-failure/champion.json", b"{}", overwrite=True)
    assert upload.value.status_code == 403
    with pytest.raises(HttpResponseError) as delete:
        client.delete_blob(f"ai4i-failure/{version}/manifest.json")
    assert delete.value.status_code == 403
    with pytest.raises(HttpResponseError) as register:
        site_view.register("ai4i-failure", "9.9.9", {"manifest.json": b"{}"})
    assert register.value.status_code == 403
    assert version in BlobModelRegistry.from_connection_string(sas, container).versions("ai4i-failure")


def test_every_route_of_a_site_without_a_model_answers_the_reason_not_a_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_bundle_dir: Path
) -> None:
    """In process: the registry is unreachable (nothing listens), so that failure is the reason given."""
    from fastapi.testclient import TestClient
    from markupsafe import escape

    from edgeloop.config.scoring import ScoringSettings
    from scoring_app import create_app

    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    monkeypatch.setenv("SCORING_MODEL_SIGNING_PUBLIC_KEY", generate_key_pair()[1])
    unreachable = f"http://127.0.0.1:{free_port()}/cloud/models?sv=2022-11-02&sr=c&sp=rl&sig=x"
    monkeypatch.setenv("SCORING_MODEL_REGISTRY_STORAGE", unreachable)  # the SAS URL form
    monkeypatch.setenv("SCORING_MODEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SCORING_MODEL_POLL_SECONDS", "3600")
    settings = ScoringSettings(
        model_dir=tmp_path / "seed",
        outbox_path=tmp_path / "outbox.sqlite3",
        api_key=API_KEY,  # type: ignore[arg-type]
        api_key_file=tmp_path / "api-key",
        relay_enabled=False,
        heartbeat_interval_seconds=0,  # it beats while waiting: the outbox keeps the requests' entries only
    )
    with TestClient(create_app(settings), headers=HEADERS) as client:
        wait_until(lambda: "unreachable" in client.get("/readyz").json()["detail"], 30, "the poll's failure")
        reason = client.get("/readyz").json()["detail"]
        assert reason.startswith("no model yet: model registry unreachable")
        rows = valid_rows(load_manifest(demo_bundle_dir), 2, seed=1)
        for method, path, body in (
            ("POST", "/api/v1/score", {"rows": rows}),
            ("POST", "/api/v1/feedback", {"items": [{"insight_id": "x-00000", "label": 1}]}),
            ("GET", "/api/v1/model", None),
        ):
            answer = client.request(method, path, json=body)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["detail"] == f"{reason}; nothing was recorded"
        page = client.get("/")
        assert page.status_code == 503
        assert str(escape(reason)) in page.text  # as the template escapes it
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get("/readyz").json()["checks"]["outbox"]["depth"] == 0
