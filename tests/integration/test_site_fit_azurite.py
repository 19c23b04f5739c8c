"""Per-site fit and cohort lines on a real Azurite: registry, compliant records, real forest runs.

The champion knows nothing (0.5 everywhere, support.site_fit_data); two steady sites label
rows as the base data does, one drifted site the other way round. A challenger trained on
them all is better overall but worse than the champion on the drifted site's own rows: it is
promoted and that site (only that one) is excluded, the reason in the run report and in the
version's ``site-fit.json``. With the drifted site as a cohort of its own, its line (trained
on the base data and that site's rows, gated on them) does better there and is promoted on
its own line; the fleet's line stays, and then learns from the steady sites only. ``make run``
with cohorts starts each line on a copy of the fleet's champion.
Two runs of the demo's recipe (5 trees) and one of a tiny recipe.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.model_loop import MODEL_NAME, small_base_csv
from support.site_fit_data import BASE_ROWS, DRIFTED, STEADY, uninformative_champion, write_fleet_rows
from support.waiting import wait_until

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.bootstrap.retraining import (
    build_pointer_refresher,
    build_registry,
    build_retraining,
    publish_first_champion,
)
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.manifest import MANIFEST_FILE
from edgeloop.ports import RetrainRequest
from edgeloop.service_layer.retraining import RunReport
from edgeloop.service_layer.site_fit import read_site_exclusions
from localdev.azurite import Azurite
from localdev.cloud import publish_first_champion as publish_local_champions
from localdev.run import LocalSystem
from localdev.sites import cohort_line

COHORT_LINE = f"{MODEL_NAME}-drifted"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def base_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_base_csv(tmp_path_factory.mktemp("base") / "base.csv", rows=BASE_ROWS)


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory, base_csv: Path) -> Path:
    return uninformative_champion(tmp_path_factory.mktemp("champion") / "bundle", base_csv)


def fleet(
    azurite: Azurite, base_csv: Path, champion: Path, drifted_rows: int, **extra: str
) -> RetrainingSettings:
    """A registry with the champion and the three sites' labelled rows."""
    private, _ = generate_key_pair()
    settings = RetrainingSettings(
        CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
        MODEL_REGISTRY_CONTAINER=unique("models"),
        RETRAIN_COMPLIANT_CONTAINER=unique("compliant"),
        RETRAIN_BASE_DATA=base_csv,
        RETRAIN_MIN_NEW_LABELS=100,
        RETRAIN_MAX_LABEL_SHIFT=50,  # the drifted site's labels are mostly failures, on purpose
        MODEL_SIGNING_PRIVATE_KEY=private,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )
    publish_first_champion(settings, champion)
    store = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
    write_fleet_rows(store, settings.compliant_container, drifted_rows)
    return settings


def run(settings: RetrainingSettings, line: str | None = None) -> RunReport:
    request = RetrainRequest(uuid.uuid4().hex, datetime.now(UTC), "test")
    return build_retraining(settings, line=line).run(request)


def serial(registry: BlobModelRegistry, name: str) -> int:
    found = registry.champion(name)
    assert found is not None
    return found[0].serial


def expires_within(registry: BlobModelRegistry, name: str, hours: float) -> bool:
    found = registry.champion(name)
    assert found is not None
    assert found[0].expires is not None
    return found[0].expires - datetime.now(UTC) <= timedelta(hours=hours)


def champion_version(registry: BlobModelRegistry, name: str) -> str:
    found = registry.champion(name)
    assert found is not None
    return found[0].version


def verdicts(report: RunReport) -> dict[str, str]:
    return {site["site_id"]: site["verdict"] for site in report.document["site_fit"]["sites"]}


def test_a_challenger_better_overall_but_worse_for_the_drifted_site_excludes_that_site_only(
    azurite: Azurite, base_csv: Path, champion: Path
) -> None:
    settings = fleet(azurite, base_csv, champion, drifted_rows=500)
    report = run(settings)
    assert report.outcome == "promoted", report.document["decision"]
    metrics = report.document["metrics"]
    assert metrics["challenger"]["roc_auc"] > metrics["champion"]["roc_auc"] + 0.2

    assert verdicts(report)[DRIFTED] == "worse"
    assert all(verdicts(report)[site] != "worse" for site in STEADY)
    excluded = report.excluded()
    assert list(excluded) == [DRIFTED]
    assert excluded[DRIFTED].startswith("worse by ")
    assert report.document["site_fit"]["excluded"] == excluded  # the stored run report says why

    registry = build_registry(settings)
    assert read_site_exclusions(registry, MODEL_NAME, str(report.version)) == excluded
    stored = [json.loads(registry.read_blob(name)) for name in registry.run_reports(MODEL_NAME)]
    assert [doc["site_fit"]["excluded"] for doc in stored if doc["run_id"] == report.run_id] == [excluded]


def test_a_cohort_line_trained_on_the_drifted_sites_rows_is_promoted_on_its_own_line(
    azurite: Azurite, base_csv: Path, champion: Path
) -> None:
    cohorts = json.dumps([{"line": COHORT_LINE, "sites": [DRIFTED]}])
    settings = fleet(azurite, base_csv, champion, drifted_rows=2000, RETRAIN_COHORTS=cohorts)
    registry = build_registry(settings)

    report = run(settings, line=COHORT_LINE)
    assert report.outcome == "promoted", report.document["decision"]
    assert report.document["forked_from"] == MODEL_NAME
    assert report.document["data"]["new_labelled_rows"] == 2000  # the cohort's rows only
    cohort = report.document["metrics_cohort"]
    assert cohort["sites"] == [DRIFTED]
    assert cohort["rows"] >= 30
    assert cohort["challenger"]["roc_auc"] > cohort["champion"]["roc_auc"] + 0.2
    assert list(verdicts(report)) == [DRIFTED]
    assert report.excluded() == {}

    line_champion = registry.champion(COHORT_LINE)
    assert line_champion is not None
    assert line_champion[0].version == report.version
    assert line_champion[0].serial == 1
    manifest = json.loads(registry.read(COHORT_LINE, str(report.version), MANIFEST_FILE))
    assert manifest["name"] == COHORT_LINE  # what a site with SCORING_MODEL_NAME=COHORT_LINE accepts
    fleet_champion = registry.champion(MODEL_NAME)
    assert fleet_champion is not None
    assert fleet_champion[0].version == "1.0.0"
    assert registry.versions(MODEL_NAME) == ["1.0.0"]

    # The fleet's line learns from the steady sites' rows, not the cohort's (the tiny recipe: the
    # rows and the verdicts are the point here, not the model).
    recipe = json.loads(registry.read(MODEL_NAME, "1.0.0", MANIFEST_FILE))["recipe"]
    recipe["entry_point"] = "support.tiny_recipes:constant"
    fleet_run = run(settings.model_copy(update={"recipe_json": json.dumps(recipe)}))
    assert fleet_run.document["data"]["new_labelled_rows"] == 2 * 500
    assert set(verdicts(fleet_run)) == set(STEADY)
    assert fleet_run.excluded() == {}
    serials = {name: serial(registry, name) for name in (MODEL_NAME, COHORT_LINE)}
    assert champion_version(registry, COHORT_LINE) == report.version

    # The timer re-signs every line's pointer (a cohort's sites refuse an expired one too): once
    # each expires within the refresh window (a pointer signed in the last 36 ms does not yet).
    refresh_hours = settings.pointer_lifetime_hours - 1e-5
    wait_until(
        lambda: all(expires_within(registry, name, refresh_hours) for name in serials),
        10,
        "every line's pointer inside the refresh window",
    )
    build_pointer_refresher(settings.model_copy(update={"pointer_refresh_hours": refresh_hours}))()
    assert {name: serial(registry, name) for name in serials} == {name: n + 1 for name, n in serials.items()}


def test_a_line_not_configured_is_refused(azurite: Azurite) -> None:
    settings = RetrainingSettings(CloudStorage=azurite.connection_string("cloud"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not a model line"):
        build_retraining(settings, line="elsewhere")


def test_make_runs_cohort_sites_start_on_their_line_a_copy_of_the_fleets_champion(
    azurite: Azurite, base_csv: Path, champion: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = unique("models")
    monkeypatch.setenv("MODEL_REGISTRY_CONTAINER", container)
    cohorts = json.dumps([{"line": COHORT_LINE, "sites": ["site-3"]}])
    env = {
        "CloudStorage": azurite.connection_string("cloud"),
        "MODEL_SIGNING_KEY_DIR": str(tmp_path / "keys"),
        "RETRAIN_BASE_DATA": str(base_csv),
        "MODEL_NAME": MODEL_NAME,
        "SCORING_MODEL_DIR": str(champion),
        "RETRAIN_COHORTS": cohorts,
    }
    assert publish_local_champions(env) == "1.0.0"
    settings = RetrainingSettings(CloudStorage=env["CloudStorage"])  # type: ignore[arg-type]
    assert settings.models_container == container
    registry = build_registry(settings)
    assert champion_version(registry, MODEL_NAME) == champion_version(registry, COHORT_LINE) == "1.0.0"
    assert json.loads(registry.read(COHORT_LINE, "1.0.0", MANIFEST_FILE))["name"] == COHORT_LINE
    assert cohort_line(env, "site-3") == COHORT_LINE
    assert cohort_line(env, "site-1") is None
    assert cohort_line({"MODEL_NAME": MODEL_NAME}, "site-3") is None


def test_the_local_fleets_cohort_site_serves_its_line_with_a_cache_of_its_own(tmp_path: Path) -> None:
    system = LocalSystem(tmp_path / "var", sites=3)
    shared = {
        "MODEL_NAME": MODEL_NAME,
        "RETRAIN_COHORTS": json.dumps([{"line": COHORT_LINE, "sites": ["site-3"]}]),
    }
    scoring = {c.site: c for c in system.components if c.site is not None and c.port is not None}
    cohort_env = system.environment_of(scoring["site-3"], shared)
    fleet_env = system.environment_of(scoring["site-1"], shared)
    assert cohort_env["SCORING_MODEL_NAME"] == COHORT_LINE
    assert cohort_env["SCORING_MODEL_CACHE_DIR"].endswith(f"models-{COHORT_LINE}")
    assert "SCORING_MODEL_NAME" not in fleet_env  # the shared MODEL_NAME's line, as before
