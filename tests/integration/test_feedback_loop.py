"""The whole feedback loop, as `make run` starts it (tests/support/local_system.py), on a real Azurite.

Replay labelled rows through the site's scoring API (``edgeloop replay``) -> outbox -> edge queue ->
filter_insights -> compliant blobs -> the ``schedule_retraining`` timer (every 10 s here) ->
``run_retraining`` trains, evaluates and promotes a challenger -> the scoring app swaps it in and
names it in its responses. Then a poisoned batch (every label flipped): the challenger is
rejected, the champion stays, and the run's report says why.

Small and fast on purpose: a 2,000-row base dataset, 20 boosted trees, a champion trained the same
way (so the base test rows are unseen by both models).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.local_system import SystemUnderTest, running_system
from support.model_loop import DATA, MODEL_NAME, champion_bundle, small_base_csv

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.cli.replayer import Replayer, read_rows
from localdev.azurite import REPO_ROOT

pytestmark = pytest.mark.slow

SITE = "site-loop"
LOOP_TIMEOUT = 150.0


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[SystemUnderTest]:
    work = tmp_path_factory.mktemp("loop")
    base = small_base_csv(work / "base.csv", rows=2000)
    champion = champion_bundle(work / "champion", base)
    with running_system(
        work / "var",
        request,
        EDGELOOP_SITE_ID=SITE,
        SCORING_MODEL_DIR=str(champion),
        SCORING_MODEL_POLL_SECONDS="0.5",
        RETRAIN_BASE_DATA=str(base),
        RETRAIN_SCHEDULE="*/10 * * * * *",
        RETRAIN_N_ESTIMATORS="20",
        RETRAIN_MIN_NEW_LABELS="100",
        RETRAIN_PROMOTION_MARGIN="0.05",
    ) as running:
        yield running


def run_reports(system: SystemUnderTest) -> list[dict[str, Any]]:
    registry = BlobModelRegistry.from_connection_string(system.connection_string("cloud"))
    return [json.loads(registry.read_blob(name)) for name in registry.run_reports(MODEL_NAME)]


def champion(system: SystemUnderTest) -> str:
    registry = BlobModelRegistry.from_connection_string(system.connection_string("cloud"))
    found = registry.champion(MODEL_NAME)
    assert found is not None
    return found[0].version


def served(system: SystemUnderTest) -> str:
    response = httpx.post(
        f"{system.scoring_url}/api/v1/score",
        json={"rows": [read_rows(DATA, limit=1)[0].row]},
        headers={"X-API-Key": system.api_key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["model"]["version"])


def test_replayed_labels_train_a_champion_the_site_serves_and_poison_is_refused(
    system: SystemUnderTest,
) -> None:
    assert champion(system) == "1.0.0"
    assert served(system) == "1.0.0"

    command = [
        sys.executable, "-m", "edgeloop.cli", "replay", str(DATA),
        "--site", SITE, "--rate", "400", "--feedback-delay", "0.5", "--url", system.scoring_url,
        "--api-key", system.api_key, "--skip", "2000", "--limit", "300",
    ]  # fmt: skip
    replay = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assert "300 rows scored (0 refused), 300 outcomes reported" in replay.stderr

    def settled_champion() -> str | None:
        """A promoted champion that a later run found nothing new for (skipped): it is stable."""
        for report in run_reports(system):
            if report["outcome"] == "skipped" and report.get("champion_version") not in (None, "1.0.0"):
                return str(report["champion_version"])
        return None

    system.wait_until(lambda: settled_champion() is not None, LOOP_TIMEOUT, "a promoted, settled champion")
    new_version = settled_champion()
    assert new_version is not None
    assert champion(system) == new_version
    promoted = [r for r in run_reports(system) if r["outcome"] == "promoted"]
    assert new_version in {r["version"] for r in promoted}
    system.wait_until(lambda: served(system) == new_version, 30, "the site to serve the new champion")
    form = httpx.get(f"{system.scoring_url}/", timeout=30).text
    assert new_version in form  # the edge form names the model it scores with

    # A poisoned batch: the true outcome of every row reported the other way round.
    with httpx.Client(
        base_url=system.scoring_url, headers={"X-API-Key": system.api_key}, timeout=30
    ) as client:
        stats = Replayer(client, rate=400, feedback_delay=0.5, flip_labels=True).run(
            read_rows(DATA, skip=2300, limit=300)
        )
    assert stats.feedback_sent == 300

    def poisoned_run() -> dict[str, Any] | None:
        for report in run_reports(system):
            data = report.get("data") or {}
            if data.get("new_labelled_rows", 0) > 300 and report.get("champion_version") == new_version:
                return report
        return None

    system.wait_until(lambda: poisoned_run() is not None, LOOP_TIMEOUT, "a run on the poisoned labels")
    report = poisoned_run()
    assert report is not None
    assert report["outcome"] == "rejected", report["decision"]
    assert any("labels look wrong" in reason for reason in report["decision"]["reasons"])
    assert champion(system) == new_version
    assert served(system) == new_version
