"""`make run EXAMPLE_MODEL=...`: the setting picks the served bundle, its registry line and base data.

Real parts: the environment localdev builds for its children, and the start-up's
first-champion publication into the registry on Azurite (a container of the test's own).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr
from support.local_system import EXAMPLE_SETTINGS

from edgeloop.bootstrap.retraining import build_registry
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.manifest import load_manifest
from edgeloop.domain.powerbi_dataset import PowerBIDataset
from localdev.azurite import Azurite
from localdev.example_models import EXAMPLE_MODELS, example_model, write_powerbi_definition
from localdev.run import VAR, component_environment, publish_first_champion


def _environment(azurite: Azurite, var: Path, monkeypatch: pytest.MonkeyPatch, choice: str) -> dict[str, str]:
    monkeypatch.setenv("EDGELOOP_EXAMPLE_MODEL", choice)
    names = ("SCORING_MODEL_DIR", "SCORING_MODEL_NAME", "MODEL_NAME", "RETRAIN_BASE_DATA")
    for name in (*names, "SCORING_MODEL_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    return component_environment(azurite, "test-api-key", var=var, settings_file=EXAMPLE_SETTINGS)


@pytest.mark.parametrize("choice", sorted(EXAMPLE_MODELS))
def test_each_choice_names_its_bundle_line_and_base_data(
    choice: str, azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _environment(azurite, tmp_path, monkeypatch, choice)
    example = EXAMPLE_MODELS[choice]
    assert env["SCORING_MODEL_DIR"] == str(VAR / "models" / example.bundle)
    assert env["SCORING_MODEL_NAME"] == env["MODEL_NAME"] == example.model_name
    if example.base_data is None:  # the vision demo generates its images: no base data file
        assert "RETRAIN_BASE_DATA" not in env
    else:
        assert Path(env["RETRAIN_BASE_DATA"]).is_file()
    assert Path(env["SCORING_MODEL_CACHE_DIR"]).parent == tmp_path / "edge"


def test_each_model_line_has_a_bundle_cache_of_its_own(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caches = set()
    for choice in EXAMPLE_MODELS:
        caches.add(_environment(azurite, tmp_path, monkeypatch, choice)["SCORING_MODEL_CACHE_DIR"])
    assert len(caches) == len(EXAMPLE_MODELS)


def test_no_choice_is_the_binary_demo_as_before(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDGELOOP_EXAMPLE_MODEL", raising=False)
    env = component_environment(azurite, "test-api-key", var=tmp_path, settings_file=EXAMPLE_SETTINGS)
    assert env["SCORING_MODEL_DIR"] == str(VAR / "models" / "demo")
    assert env["MODEL_NAME"] == "ai4i-failure"
    assert env["RETRAIN_BASE_DATA"].endswith("data/ai4i2020-train.csv")
    assert env["SCORING_MODEL_CACHE_DIR"] == str(tmp_path / "edge" / "models")


def test_an_unknown_choice_names_the_choices() -> None:
    with pytest.raises(ValueError, match="failure, failure-mode, tool-life"):
        example_model("defects")


def test_the_failure_mode_model_becomes_the_first_champion_of_its_own_line(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure_mode_bundle_dir: Path
) -> None:
    container = f"models-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("MODEL_REGISTRY_CONTAINER", container)
    env = _environment(azurite, tmp_path, monkeypatch, "failure-mode")
    env["SCORING_MODEL_DIR"] = str(failure_mode_bundle_dir)
    assert publish_first_champion(env) == "1"
    registry = build_registry(
        RetrainingSettings(CloudStorage=SecretStr(env["CloudStorage"]), MODEL_REGISTRY_CONTAINER=container)
    )
    champion = registry.champion("ai4i-failure-mode")
    assert champion is not None
    assert champion[0].version == "1"
    assert registry.champion("ai4i-failure") is None


def test_the_tool_life_model_becomes_the_first_champion_of_its_own_line(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool_life_bundle_dir: Path
) -> None:
    monkeypatch.setenv("MODEL_REGISTRY_CONTAINER", f"models-{uuid.uuid4().hex[:10]}")
    env = _environment(azurite, tmp_path, monkeypatch, "tool-life")
    env["SCORING_MODEL_DIR"] = str(tool_life_bundle_dir)
    assert publish_first_champion(env) == "1"


@pytest.mark.parametrize(
    ("fixture", "kind", "prediction_columns"),
    [
        ("failure_mode_bundle_dir", "multiclass", ["predicted_class", "predicted_probability"]),
        ("tool_life_bundle_dir", "regression", ["predicted_value", "predicted_lower", "predicted_upper"]),
    ],
)
def test_the_served_example_model_gets_a_power_bi_definition_of_its_task(
    request: pytest.FixtureRequest, tmp_path: Path, fixture: str, kind: str, prediction_columns: list[str]
) -> None:
    bundle: Path = request.getfixturevalue(fixture)
    env = {"SCORING_MODEL_DIR": str(bundle)}
    write_powerbi_definition(env, tmp_path)
    definition = json.loads(Path(env["POWERBI_DATASET_DEFINITION"]).read_text(encoding="utf-8"))
    dataset = PowerBIDataset.from_definition(definition)  # what feed_powerbi reads
    assert dataset == PowerBIDataset.for_manifest(load_manifest(bundle))
    assert dataset.task.kind == kind
    (insights,) = [t for t in definition["tables"] if t["name"] == "Insights"]
    names = [c["name"] for c in insights["columns"]]
    assert names[-len(prediction_columns) :] == prediction_columns  # the tool-life model has an interval
