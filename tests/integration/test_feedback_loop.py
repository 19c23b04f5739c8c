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

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from support.local_system import SystemUnderTest, running_system
from support.loop_checks import LoopWatch
from support.model_loop import DATA, MODEL_NAME, champion_bundle, small_base_csv

from edgeloop.cli.replayer import Replayer, read_rows, wrong_label
from localdev.azurite import REPO_ROOT

pytestmark = pytest.mark.slow

SITE = "site-loop"
BINARY_TASK = {"kind": "binary"}


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


def test_replayed_labels_train_a_champion_the_site_serves_and_poison_is_refused(
    system: SystemUnderTest,
) -> None:
    watch = LoopWatch(system, MODEL_NAME, read_rows(DATA, limit=1)[0].row)
    assert watch.champion() == "1.0.0"
    assert watch.served() == "1.0.0"

    command = [
        sys.executable, "-m", "edgeloop.cli", "replay", str(DATA),
        "--site", SITE, "--rate", "400", "--feedback-delay", "0.5", "--url", system.scoring_url,
        "--api-key", system.api_key, "--skip", "2000", "--limit", "300",
    ]  # fmt: skip
    replay = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assert "300 rows scored (0 refused), 300 outcomes reported" in replay.stderr

    new_version = watch.wait_for_settled_champion("1.0.0")
    assert watch.champion() == new_version
    assert watch.promoted_report(new_version)["outcome"] == "promoted"
    assert watch.verified_manifest(new_version).version == new_version  # its signature checks out
    watch.wait_until_served(new_version)
    assert new_version in watch.form()  # the edge form names the model it scores with

    # A poisoned batch: the true outcome of every row reported the other way round.
    with httpx.Client(
        base_url=system.scoring_url, headers={"X-API-Key": system.api_key}, timeout=30
    ) as client:
        stats = Replayer(client, rate=400, feedback_delay=0.5).run(
            read_rows(DATA, skip=2300, limit=300), poison=wrong_label(BINARY_TASK)
        )
    assert stats.feedback_sent == 300

    report = watch.wait_for_run_on_labels(600, new_version)  # both batches
    assert report["outcome"] == "rejected", report["decision"]
    assert any("labels look wrong" in reason for reason in report["decision"]["reasons"])
    assert watch.champion() == new_version
    assert watch.served() == new_version
