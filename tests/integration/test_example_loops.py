"""The whole loop for the multiclass (failure mode) and the regression (tool life) examples, on Azurite.

As tests/integration/test_feedback_loop.py does for the binary demo, on the system ``make run``
starts (tests/support/local_system.py): ``edgeloop replay`` scores the sites' rows and reports
their typed outcomes (class names; minutes) -> outbox -> edge queue -> filter_insights ->
compliant blobs -> the ``schedule_retraining`` timer (every 10 s) -> ``run_retraining`` runs the
champion's recipe, judges by the task's metric (macro-F1; MAE), signs and promotes -> the site
swaps it in, its answers and its form name it. Then a poisoned batch (every class moved to the
next one; every target sixty times too long): the task's sanity checks reject the challenger with
the reason in the run report, and the champion stays. Data and settings: tests/support/example_loop.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.example_loop import LOOPS, ExampleLoop, champion_bundle, split_csv, system_settings
from support.local_system import SystemUnderTest, running_system
from support.loop_checks import LoopWatch

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.cli.replayer import CsvLayout, Replayer, layout_of, read_rows, wrong_label
from edgeloop.service_layer.signed_bundles import BundleRejected
from edgeloop.wire.storage_layout import COMPLIANT_CONTAINER, read_objects_skipping_bad
from localdev.azurite import REPO_ROOT

pytestmark = pytest.mark.slow

SITE = "site-loop"
BATCH = 300  # rows per replayed batch: the clean one, then the poisoned one
# What the task's sanity check says about the poisoned batch.
POISON_REASON = {"failure-mode": "rate of class", "tool-life": "mean of the new targets"}


@dataclass
class RunningLoop:
    loop: ExampleLoop
    system: SystemUnderTest
    new_csv: Path
    model: dict[str, Any]  # the site's GET /api/v1/model at the start
    layout: CsvLayout
    watch: LoopWatch


@pytest.fixture(scope="module", params=sorted(LOOPS))
def running(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningLoop]:
    loop = LOOPS[request.param]
    work = tmp_path_factory.mktemp(loop.key)
    base_csv, new_csv = split_csv(loop, work)
    champion = champion_bundle(loop, work / "champion", base_csv)
    settings = system_settings(loop, champion, base_csv, SITE)
    with running_system(work / "var", request, **settings) as system:
        response = httpx.get(
            f"{system.scoring_url}/api/v1/model", headers={"X-API-Key": system.api_key}, timeout=30
        )
        assert response.status_code == 200, response.text
        model = response.json()
        layout = layout_of(model)
        sample = read_rows(new_csv, limit=1, layout=layout)[0].row
        yield RunningLoop(loop, system, new_csv, model, layout, LoopWatch(system, loop.model_name, sample))


def compliant_feedback_labels(system: SystemUnderTest) -> list[Any]:
    """The reported labels in the cloud account's compliant blobs, one per insight."""
    store = AzureBlobStore.from_connection_string(system.connection_string("cloud"))
    labels = {
        record["insight_id"]: record["label"]
        for name in store.list_names(COMPLIANT_CONTAINER)
        for record in read_objects_skipping_bad(store.get(COMPLIANT_CONTAINER, name), name)
        if record.get("kind") == "feedback"
    }
    return list(labels.values())


def replay_clean_batch(running: RunningLoop) -> None:
    system = running.system
    command = [
        sys.executable, "-m", "edgeloop.cli", "replay", str(running.new_csv),
        "--site", SITE, "--rate", "400", "--feedback-delay", "0.5", "--url", system.scoring_url,
        "--api-key", system.api_key, "--limit", str(BATCH),
    ]  # fmt: skip
    replay = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assert f"{BATCH} rows scored (0 refused), {BATCH} outcomes reported" in replay.stderr


def check_typed_labels_reached_the_cloud(running: RunningLoop) -> None:
    expected = sorted(row.label for row in read_rows(running.new_csv, limit=BATCH, layout=running.layout))
    running.system.wait_until(
        lambda: len(compliant_feedback_labels(running.system)) >= BATCH, 60, "the feedback in compliant blobs"
    )
    labels = compliant_feedback_labels(running.system)
    assert sorted(labels) == expected  # class names, or minutes: as the CSV has them
    kinds = {type(label) for label in labels}
    assert kinds == ({str} if running.loop.task.kind == "multiclass" else {float})


def check_promoted_report(running: RunningLoop, version: str) -> None:
    report = running.watch.promoted_report(version)
    metric = running.loop.metric
    assert report["evaluation"]["primary_metric"] == metric
    challenger, champion = report["metrics"]["challenger"][metric], report["metrics"]["champion"][metric]
    assert 0 < challenger < float("inf")
    assert 0 < champion < float("inf")
    assert any(metric in reason for reason in report["decision"]["reasons"])
    assert report["data"]["task"] == running.loop.task.kind
    assert report["data"]["usable_new_rows"] == BATCH
    assert report["recipe"]["parameters"] == dict(running.loop.parameters)


def check_signed_version(running: RunningLoop, version: str) -> None:
    manifest = running.watch.verified_manifest(version)  # the site's signature check holds
    assert (manifest.name, manifest.version) == (running.loop.model_name, version)
    assert manifest.task.kind == running.loop.task.kind
    _, stranger = generate_key_pair()
    with pytest.raises(BundleRejected, match="signature"):
        running.watch.verified_manifest(version, public_key=stranger)


def replay_poisoned_batch(running: RunningLoop) -> None:
    system = running.system
    rows = read_rows(running.new_csv, skip=BATCH, limit=BATCH, layout=running.layout)
    with httpx.Client(
        base_url=system.scoring_url, headers={"X-API-Key": system.api_key}, timeout=30
    ) as client:
        stats = Replayer(client, rate=400, feedback_delay=0.5).run(
            rows, poison=wrong_label(running.model["task"])
        )
    assert stats.feedback_sent == BATCH


def test_typed_feedback_trains_a_signed_champion_the_site_serves_and_poison_is_refused(
    running: RunningLoop,
) -> None:
    watch = running.watch
    assert watch.champion() == "1"
    assert watch.served() == "1"

    replay_clean_batch(running)
    check_typed_labels_reached_the_cloud(running)
    new_version = watch.wait_for_settled_champion("1")
    assert watch.champion() == new_version
    check_promoted_report(running, new_version)
    check_signed_version(running, new_version)
    watch.wait_until_served(new_version)
    assert new_version in watch.form()  # the edge form names the model it scores with

    replay_poisoned_batch(running)
    report = watch.wait_for_run_on_labels(2 * BATCH, new_version)  # both batches
    assert report["outcome"] == "rejected", report["decision"]
    reasons = report["decision"]["reasons"]
    poisoned = [r for r in reasons if POISON_REASON[running.loop.key] in r and "labels look wrong" in r]
    assert poisoned, reasons
    assert watch.champion() == new_version
    assert watch.served() == new_version
