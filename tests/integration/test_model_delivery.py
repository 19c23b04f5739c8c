"""Model delivery to a site: the real scoring app (uvicorn subprocess) polling a registry on Azurite.

Real parts only: uvicorn + FastAPI, onnxruntime, Ed25519 signatures, azure-storage-blob on Azurite.
Bundle variants (same demo model under other versions, a lowered threshold, a wrong golden sample,
a wrong key, a corrupted file) are registered with tests/support/model_loop.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.model_loop import DATA, MODEL_NAME, register_variant

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.ed25519_signing import BundleSigner, BundleVerifier, generate_key_pair
from edgeloop.bootstrap.retraining import publish_first_champion
from edgeloop.cli.replayer import read_rows
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.service_layer.champion_pointers import PointerSigning
from edgeloop.service_layer.model_publishing import promote
from localdev.azurite import REPO_ROOT, Azurite, free_port

API_KEY = "delivery-test-key-0123456789"
HEADERS = {"X-API-Key": API_KEY}
ADMIN_KEY = "delivery-admin-key-9876543210"


@dataclass
class Site:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    registry: BlobModelRegistry
    signer: BundleSigner
    rows: list[dict[str, Any]] = field(default_factory=list)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=HEADERS, timeout=30.0)

    def score(self, count: int = 5) -> httpx.Response:
        with self.client() as client:
            return client.post("/api/v1/score", json={"rows": self.rows[:count]})

    def served(self) -> str:
        response = self.score(1)
        assert response.status_code == 200, response.text
        return str(response.json()["model"]["version"])

    def delivery(self) -> dict[str, Any]:
        with self.client() as client:
            body = client.get("/readyz").json()
        return dict(body["checks"]["model_delivery"])

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"scoring app exited before {what}:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; delivery: {self.delivery()}")
            time.sleep(0.1)


def start_site(
    tmp_path: Path, azurite: Azurite, demo_bundle_dir: Path, public_key: str, **extra: str
) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCORING_")}
    env.update(
        {
            "EDGELOOP_LOCAL_SETTINGS": str(tmp_path / "absent.json"),
            "EdgeStorage": azurite.connection_string("edge"),
            "SCORING_PORT": str(port),
            "SCORING_MODEL_DIR": str(demo_bundle_dir),
            "SCORING_OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
            "SCORING_API_KEY": API_KEY,
            "SCORING_ADMIN_API_KEY": ADMIN_KEY,
            "SCORING_RELAY_ENABLED": "false",
            "SCORING_MODEL_SIGNING_PUBLIC_KEY": public_key,
            "SCORING_MODEL_REGISTRY_STORAGE": azurite.connection_string("cloud"),
            "SCORING_MODEL_POLL_SECONDS": "0.2",
            "SCORING_MODEL_CACHE_DIR": str(tmp_path / "model-cache"),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    log = tmp_path / f"scoring-{port}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "scoring_app"],
            cwd=REPO_ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"scoring app exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url, log
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"scoring app not ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


@pytest.fixture
def site_factory(tmp_path: Path, demo_bundle_dir: Path) -> Iterator[Callable[..., Site]]:
    processes: list[subprocess.Popen[bytes]] = []

    def make(azurite: Azurite, **extra: str) -> Site:
        private, public = generate_key_pair()
        container = f"models-{uuid.uuid4().hex[:10]}"
        settings = RetrainingSettings(
            CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
            MODEL_REGISTRY_CONTAINER=container,
            MODEL_SIGNING_PRIVATE_KEY=private,  # type: ignore[arg-type]
            RETRAIN_BASE_DATA=DATA,
        )
        publish_first_champion(settings, demo_bundle_dir)
        process, url, log = start_site(
            tmp_path, azurite, demo_bundle_dir, public, SCORING_MODEL_REGISTRY_CONTAINER=container, **extra
        )
        processes.append(process)
        registry = BlobModelRegistry.from_connection_string(azurite.connection_string("cloud"), container)
        # Real readings (few anomalies), not random ones (their broken correlations look out of distribution).
        rows = [item.row for item in read_rows(DATA, limit=50, skip=100)]
        return Site(url, process, log, registry, BundleSigner(private), rows)

    yield make
    for process in processes:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def pointer_signing(signer: BundleSigner) -> PointerSigning:
    return PointerSigning(signer.sign_pointer, BundleVerifier(signer.public_key_b64).verify_pointer)


def promote_now(site: Site, version: str) -> None:
    promote(site.registry, MODEL_NAME, version, "test", f"promote {version}", pointer_signing(site.signer))


class Load:
    """Concurrent clients scoring in a loop; records (status, version) per request, per client."""

    def __init__(self, site: Site, clients: int = 4) -> None:
        self._site = site
        self._stop = threading.Event()
        self.results: list[list[tuple[int, str | None]]] = [[] for _ in range(clients)]
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, index: int) -> None:
        with self._site.client() as client:
            for _ in range(100_000):  # bounded; stopped long before
                if self._stop.is_set():
                    return
                try:
                    response = client.post("/api/v1/score", json={"rows": self._site.rows[:5]})
                except httpx.TransportError as exc:
                    self.results[index].append((0, repr(exc)))
                    continue
                version = response.json()["model"]["version"] if response.status_code == 200 else None
                self.results[index].append((response.status_code, version))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def versions_seen(self) -> set[str | None]:
        return {version for results in self.results for _, version in results}


def test_swap_under_load_fails_no_request_and_bad_bundles_never_serve(
    azurite: Azurite, site_factory: Callable[..., Site], demo_bundle_dir: Path
) -> None:
    site = site_factory(azurite)
    assert site.served() == "1.0.0"
    register_variant(site.registry, demo_bundle_dir, "1.1.0", site.signer)

    with Load(site) as load:
        site.wait_for(lambda: sum(map(len, load.results)) >= 40, "load to build up")
        promote_now(site, "1.1.0")
        site.wait_for(lambda: "1.1.0" in load.versions_seen(), "the new version under load")
        done = sum(map(len, load.results))
        site.wait_for(lambda: sum(map(len, load.results)) >= done + 40, "more load after the swap")

    statuses = [status for results in load.results for status, _ in results]
    failed = [result for results in load.results for result in results if result[0] != 200]
    assert statuses
    assert failed == []
    assert load.versions_seen() == {"1.0.0", "1.1.0"}
    for results in load.results:  # each client's requests are sequential: once new, never old again
        versions = [version for _, version in results]
        if "1.1.0" in versions:
            assert "1.0.0" not in versions[versions.index("1.1.0") :]

    # Bad bundles: rejected, reported, and 1.1.0 keeps serving.
    other_signer = BundleSigner(generate_key_pair()[0])
    register_variant(site.registry, demo_bundle_dir, "1.2.0-wrong-key", other_signer)
    register_variant(site.registry, demo_bundle_dir, "1.3.0-golden", site.signer, golden_shift=0.25)
    register_variant(site.registry, demo_bundle_dir, "1.4.0-corrupt", site.signer, corrupt_model=True)
    expected = {
        "1.2.0-wrong-key": "bad signature",
        "1.3.0-golden": "golden check failed",
        "1.4.0-corrupt": "model.onnx: sha256",
    }
    for version, reason in expected.items():
        promote_now(site, version)
        site.wait_for(lambda v=version: v in site.delivery()["rejected"], f"{version} to be rejected")
        assert reason in site.delivery()["rejected"][version]
        assert site.served() == "1.1.0"
    status = site.delivery()
    assert status["champion"] == "1.4.0-corrupt"
    assert status["serving"] == "1.1.0"
    with site.client() as client:
        metrics = client.get("/metrics").text
    assert "edgeloop_model_delivery_rejections_total 3.0" in metrics
    assert 'edgeloop_model_serving{version="1.1.0"} 1.0' in metrics
    assert "ai4i-failure 1.4.0-corrupt rejected, keeping 1.1.0" in site.log.read_text()

    # Admin rollback: the admin key only (the scoring key is refused); back to 1.0.0; nothing further.
    with httpx.Client(base_url=site.url, timeout=30) as anonymous:
        assert anonymous.post("/api/v1/admin/model/rollback").status_code == 401
        wrong = anonymous.post("/api/v1/admin/model/rollback", headers={"X-Admin-Key": "guessed"})
        assert wrong.status_code == 401
    with site.client() as client:
        refused = client.post("/api/v1/admin/model/rollback", json={"reason": "scoring key"})
        assert refused.status_code == 403
        assert "X-Admin-Key" in refused.json()["detail"]
        admin = {"X-Admin-Key": ADMIN_KEY}
        response = client.post(
            "/api/v1/admin/model/rollback", json={"reason": "operator says so"}, headers=admin
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"rolled_back": "1.1.0", "serving": "1.0.0", "reason": "operator says so"}
        assert client.post("/api/v1/admin/model/rollback", headers=admin).status_code == 409
    assert site.served() == "1.0.0"
    assert "rolled back by admin: operator says so" in site.delivery()["rejected"]["1.1.0"]


def test_offline_site_keeps_serving_and_catches_up_when_the_cloud_returns(
    fresh_azurite: Azurite, site_factory: Callable[..., Site], demo_bundle_dir: Path, tmp_path: Path
) -> None:
    site = site_factory(fresh_azurite)
    register_variant(site.registry, demo_bundle_dir, "1.1.0", site.signer)
    site.wait_for(lambda: site.delivery()["registry_reachable"] is True, "a first poll")
    fresh_azurite.stop()
    site.wait_for(lambda: site.delivery()["registry_reachable"] is False, "the outage to be noticed")
    for _ in range(5):
        assert site.served() == "1.0.0"
    assert "unreachable" in site.delivery()["last_error"]
    fresh_azurite.start()  # same data, same ports
    promote_now(site, "1.1.0")
    site.wait_for(lambda: site.delivery()["serving"] == "1.1.0", "the champion after the outage")
    assert site.served() == "1.1.0"

    # A restart during the next outage starts with the last verified champion (the site's cache).
    site.process.terminate()
    site.process.wait(30)
    fresh_azurite.stop()
    container = site.registry._container.container_name
    process, url, log = start_site(
        tmp_path,
        fresh_azurite,
        demo_bundle_dir,
        site.signer.public_key_b64,
        SCORING_MODEL_REGISTRY_CONTAINER=container,
    )
    restarted = Site(url, process, log, site.registry, site.signer, site.rows)
    try:
        assert restarted.served() == "1.1.0"
        restarted.wait_for(lambda: restarted.delivery()["registry_reachable"] is False, "the failed poll")
        assert restarted.served() == "1.1.0"
    finally:
        process.terminate()
        process.wait(30)


def test_a_new_model_flagging_far_more_rows_is_rolled_back_automatically(
    azurite: Azurite, site_factory: Callable[..., Site], demo_bundle_dir: Path
) -> None:
    site = site_factory(azurite, SCORING_ROLLBACK_WINDOW_ROWS="100", SCORING_ROLLBACK_MIN_BASELINE_ROWS="50")
    for _ in range(4):  # the baseline: 1.0.0's anomaly rate on this site
        assert site.score(25).status_code == 200
    # Same model, threshold ~0: every row is a "high risk" anomaly.
    register_variant(site.registry, demo_bundle_dir, "2.0.0-alarm", site.signer, threshold=1e-9)
    promote_now(site, "2.0.0-alarm")
    site.wait_for(lambda: site.delivery()["serving"] == "2.0.0-alarm", "the alarm model")
    versions = []
    for _ in range(10):  # bounded: the window is 100 rows, 4 batches
        response = site.score(25)
        assert response.status_code == 200
        versions.append(response.json()["model"]["version"])
        if versions[-1] == "1.0.0":
            break
    assert versions[:4] == ["2.0.0-alarm"] * 4
    assert versions[-1] == "1.0.0"
    reason = site.delivery()["rejected"]["2.0.0-alarm"]
    assert "rolled back by auto-rollback" in reason
    assert "anomaly rate 100.0% over 100 rows" in reason
    site.wait_for(lambda: site.delivery()["champion"] == "2.0.0-alarm", "the next poll")
    assert site.served() == "1.0.0"  # the champion pointer still names it; the site does not reinstall it
    with site.client() as client:
        assert 'edgeloop_model_delivery_rollbacks_total{trigger="auto"} 1.0' in client.get("/metrics").text


def test_a_pointer_edited_back_to_an_older_version_is_refused_while_the_site_keeps_serving(
    azurite: Azurite, site_factory: Callable[..., Site], demo_bundle_dir: Path
) -> None:
    """The attack found from outside: only the ``version`` of ``champion.json`` edited back to an
    older signed version made a running site serve it within seconds. Now the pointer is signed."""
    site = site_factory(azurite)
    register_variant(site.registry, demo_bundle_dir, "1.1.0", site.signer)
    promote_now(site, "1.1.0")
    site.wait_for(lambda: site.delivery()["serving"] == "1.1.0", "the new champion")
    blob = site.registry._container.get_blob_client(f"{MODEL_NAME}/champion.json")
    document = json.loads(blob.download_blob().readall())
    document["signed"]["version"] = "1.0.0"
    blob.upload_blob(json.dumps(document).encode(), overwrite=True)

    site.wait_for(lambda: site.delivery()["pointer"]["refusals"].get("forged") == 1, "the refusal")
    status = site.delivery()
    assert (status["serving"], status["champion"], status["pointer"]["serial"]) == ("1.1.0", "1.1.0", 2)
    assert "signature does not match the pointer" in status["pointer"]["last_refusal"]
    refused_at = status["last_poll_at"]
    site.wait_for(lambda: site.delivery()["last_poll_at"] != refused_at, "a later poll")
    assert site.served() == "1.1.0"  # polls go on; the edited pointer is never followed
    with site.client() as client:
        metrics = client.get("/metrics").text
    assert 'edgeloop_model_delivery_pointer_refusals_total{kind="forged"} 1.0' in metrics
    assert "champion pointer refused, keeping 1.1.0" in site.log.read_text()
