"""Retraining runs with the data scientists' own recipes, on a real Azurite: the failing ones.

A recipe that raises, returns a graph whose inputs disagree with its manifest, outputs NaN,
or runs past its time limit ends the run ``failed``: the reason (and the recipe's traceback
tail) in the run report, nothing registered, the champion pointer untouched, so the sites
keep serving. The recipes (tests/support/tiny_recipes.py) build a few-op ONNX graph: no
training, so each run takes seconds. The champion is the demo's, trained by its recipe.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.model_loop import MODEL_NAME, champion_bundle, small_base_csv, write_labelled_records

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.bootstrap.retraining import build_registry, build_retraining, publish_first_champion
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.ports import RetrainRequest
from localdev.azurite import Azurite


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def base_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_base_csv(tmp_path_factory.mktemp("base") / "base.csv", rows=1000)


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory, base_csv: Path) -> Path:
    return champion_bundle(tmp_path_factory.mktemp("champion") / "bundle", base_csv, n_estimators=5)


@pytest.fixture(scope="module")
def settings(azurite: Azurite, base_csv: Path, champion: Path) -> RetrainingSettings:
    """A registry with the champion and 150 labelled rows from a site: enough for a run."""
    private, _ = generate_key_pair()
    settings = RetrainingSettings(
        CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
        MODEL_REGISTRY_CONTAINER=unique("models"),
        RETRAIN_COMPLIANT_CONTAINER=unique("compliant"),
        RETRAIN_BASE_DATA=base_csv,
        RETRAIN_MIN_NEW_LABELS=100,
        MODEL_SIGNING_PRIVATE_KEY=private,  # type: ignore[arg-type]
    )
    publish_first_champion(settings, champion)
    store = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
    write_labelled_records(store, settings.compliant_container, skip=1000, count=150)
    return settings


def run_with(settings: RetrainingSettings, entry_point: str, **recipe: Any) -> dict[str, Any]:
    """A run whose recipe is ``entry_point`` (RETRAIN_RECIPE replaces the champion's)."""
    block = json.loads(json.dumps(build_registry_recipe(settings)))
    block.update(entry_point=entry_point, **recipe)
    configured = settings.model_copy(update={"recipe_json": json.dumps(block)})
    report = build_retraining(configured).run(RetrainRequest(uuid.uuid4().hex, datetime.now(UTC), "test"))
    return report.document


def build_registry_recipe(settings: RetrainingSettings) -> dict[str, Any]:
    registry = build_registry(settings)
    manifest = json.loads(registry.read(MODEL_NAME, "1.0.0", "manifest.json"))
    return dict(manifest["recipe"])


def assert_nothing_changed(settings: RetrainingSettings, report: dict[str, Any]) -> None:
    registry = BlobModelRegistry.from_connection_string(
        settings.cloud_storage.get_secret_value(),  # type: ignore[union-attr]
        settings.models_container,
    )
    assert registry.versions(MODEL_NAME) == ["1.0.0"]
    assert (registry.champion(MODEL_NAME) or pytest.fail("no champion"))[0].version == "1.0.0"
    assert report["version"] is None
    stored = [json.loads(registry.read_blob(name)) for name in registry.run_reports(MODEL_NAME)]
    assert report["run_id"] in {document["run_id"] for document in stored}


def test_a_recipe_that_raises_fails_the_run_with_its_traceback(settings: RetrainingSettings) -> None:
    report = run_with(settings, "support.tiny_recipes:raises")
    assert report["outcome"] == "failed", report["decision"]
    assert "RuntimeError: the data scientist's bug" in report["decision"]["reasons"][0]
    assert "Traceback" in report["failure"]["detail"]
    assert "tiny_recipes.py" in report["failure"]["detail"]
    assert report["data"]["usable_new_rows"] == 150  # the data was built before the recipe ran
    assert_nothing_changed(settings, report)


def test_a_graph_whose_inputs_disagree_with_its_manifest_fails_the_run(settings: RetrainingSettings) -> None:
    report = run_with(settings, "support.tiny_recipes:wrong_inputs")
    assert report["outcome"] == "failed", report["decision"]
    reason = report["decision"]["reasons"][0]
    assert "does not load" in reason
    assert "do not match manifest onnx_inputs" in reason
    assert_nothing_changed(settings, report)


def test_nan_outputs_on_the_held_out_rows_fail_the_run(settings: RetrainingSettings) -> None:
    report = run_with(settings, "support.tiny_recipes:nan_outputs")
    assert report["outcome"] == "failed", report["decision"]
    assert "non-finite outputs (failure_probability)" in report["decision"]["reasons"][0]
    assert_nothing_changed(settings, report)


def test_a_recipe_past_its_time_limit_is_stopped_and_fails_the_run(settings: RetrainingSettings) -> None:
    # The recipe would sleep ten minutes; the limit (3 s, imports included) stops it long before.
    report = run_with(settings, "support.tiny_recipes:too_slow", time_limit_seconds=3)
    assert report["outcome"] == "failed", report["decision"]
    assert "ran past its time limit of 3 s" in report["decision"]["reasons"][0]
    assert_nothing_changed(settings, report)


def test_a_recipe_that_returns_no_recipe_result_fails_the_run(settings: RetrainingSettings) -> None:
    report = run_with(settings, "support.tiny_recipes:not_a_result")
    assert report["outcome"] == "failed"
    assert "not a RecipeResult" in report["decision"]["reasons"][0]
    assert_nothing_changed(settings, report)


def test_a_working_recipe_is_registered_with_edgeloops_fields(
    settings: RetrainingSettings, champion: Path
) -> None:
    """The control: the same harness with a recipe that works registers a (rejected) version."""
    own = settings.model_copy(update={"models_container": unique("models")})  # the others stay clean
    publish_first_champion(own, champion)
    report = run_with(own, "support.tiny_recipes:constant")
    assert report["outcome"] == "rejected", report["decision"]  # a constant model is no better
    assert any("worse than the champion's" in reason for reason in report["decision"]["reasons"])
    registry = build_registry(own)
    manifest = json.loads(registry.read(MODEL_NAME, report["version"], "manifest.json"))
    assert manifest["name"] == MODEL_NAME
    assert manifest["version"] == report["version"]
    assert manifest["recipe"]["entry_point"] == "support.tiny_recipes:constant"
    assert manifest["training_data"]["run_id"] == report["run_id"]
    assert (registry.champion(MODEL_NAME) or pytest.fail("no champion"))[0].version == "1.0.0"
