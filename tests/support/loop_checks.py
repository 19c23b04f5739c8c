"""What the whole-loop tests watch on a running local system: run reports, the champion, what the site serves.

One :class:`LoopWatch` per model line: it reads the registry on the cloud account (run
reports, the champion pointer, a version's signed files) and asks the site's scoring
app which version answers; the waits are bounded polls on those (never sleeps).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from support.local_system import SystemUnderTest

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.ed25519_signing import BundleVerifier
from edgeloop.domain.manifest import ModelManifest
from edgeloop.service_layer.signed_bundles import open_bundle

LOOP_TIMEOUT = 300.0  # bounds, not waits: a quiet machine takes well under a minute a stage
SERVE_TIMEOUT = 30.0


@dataclass
class LoopWatch:
    system: SystemUnderTest
    model_name: str
    sample_row: dict[str, Any]  # a row the model scores, to ask which version answers

    @property
    def registry(self) -> BlobModelRegistry:
        return BlobModelRegistry.from_connection_string(self.system.connection_string("cloud"))

    def reports(self) -> list[dict[str, Any]]:
        registry = self.registry
        return [json.loads(registry.read_blob(name)) for name in registry.run_reports(self.model_name)]

    def champion(self) -> str:
        found = self.registry.champion(self.model_name)
        assert found is not None
        return found[0].version

    def served(self) -> str:
        """The version the site's scoring API names in its answer."""
        response = httpx.post(
            f"{self.system.scoring_url}/api/v1/score",
            json={"rows": [self.sample_row]},
            headers={"X-API-Key": self.system.api_key},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["model"]["version"])

    def form(self) -> str:
        response = httpx.get(f"{self.system.scoring_url}/", timeout=30)
        assert response.status_code == 200, response.text
        return response.text

    def settled_champion(self, first: str) -> str | None:
        """A promoted champion (not ``first``) that a later run found nothing new for: it is stable."""
        for report in self.reports():
            if report["outcome"] == "skipped" and report.get("champion_version") not in (None, first):
                return str(report["champion_version"])
        return None

    def wait_for_settled_champion(self, first: str) -> str:
        self.system.wait_until(
            lambda: self.settled_champion(first) is not None, LOOP_TIMEOUT, "a promoted, settled champion"
        )
        version = self.settled_champion(first)
        assert version is not None
        return version

    def promoted_report(self, version: str) -> dict[str, Any]:
        [report] = [r for r in self.reports() if r["outcome"] == "promoted" and r["version"] == version]
        return report

    def wait_until_served(self, version: str) -> None:
        self.system.wait_until(
            lambda: self.served() == version, SERVE_TIMEOUT, f"the site to serve {version}"
        )

    def run_on_labels(self, at_least: int, champion: str) -> dict[str, Any] | None:
        """The first run against ``champion`` that read ``at_least`` labelled rows (a run that read
        only part of a batch, still arriving, does not count: it may skip for too little data)."""
        for report in self.reports():
            data = report.get("data") or {}
            if data.get("new_labelled_rows", 0) >= at_least and report.get("champion_version") == champion:
                return report
        return None

    def wait_for_run_on_labels(self, at_least: int, champion: str) -> dict[str, Any]:
        self.system.wait_until(
            lambda: self.run_on_labels(at_least, champion) is not None,
            LOOP_TIMEOUT,
            f"a run on {at_least} labelled rows",
        )
        report = self.run_on_labels(at_least, champion)
        assert report is not None
        return report

    def verified_manifest(self, version: str, public_key: str | None = None) -> ModelManifest:
        """``version``'s files from the registry, opened as a site opens them: the signature checked
        with the site's public key (or ``public_key``); BundleRejected if it does not hold."""
        key = public_key or self.system.env["SCORING_MODEL_SIGNING_PUBLIC_KEY"]
        manifest, _ = open_bundle(self.registry.fetch(self.model_name, version), BundleVerifier(key).verify)
        return manifest
