"""Trainer adapters offline: the Azure ML command job spec, the retrain-requests message; replay pacing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from edgeloop.adapters.azureml_trainer import (
    COMMAND_JOB_SCHEMA,
    AzureMLTrainer,
    TrainerUnavailable,
    command_job_spec,
)
from edgeloop.adapters.local_trainer import QueueTrainer
from edgeloop.bootstrap.first_bundle import parse_template
from edgeloop.cli.replayer import ReplayRow, _batches
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.recipes import RecipeSpec
from edgeloop.ports import RetrainRequest
from edgeloop.recipes.ai4i_failure import manifest_template
from edgeloop.wire.retrain_request import RetrainRequestError, request_from_json, request_to_json

REQUEST = RetrainRequest("0123456789abcdef", datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC), "schedule")


@pytest.fixture(autouse=True)
def no_local_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's local.settings.json must not leak in (e.g. a configured workspace)."""
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    for name in ("AZUREML_SUBSCRIPTION_ID", "AZUREML_RESOURCE_GROUP", "AZUREML_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)


def settings(**values: object) -> RetrainingSettings:
    return RetrainingSettings(**values)  # type: ignore[arg-type]


def demo_recipe(**changes: object) -> RecipeSpec:
    recipe = parse_template(manifest_template()).recipe
    return replace(recipe, **changes)  # type: ignore[arg-type]


def test_the_command_job_spec_follows_the_aml_schema_and_carries_no_secret() -> None:
    spec = command_job_spec(
        settings(AZUREML_COMPUTE="gpu-a", AZUREML_ENVIRONMENT="azureml:train@3", RETRAIN_MIN_NEW_LABELS=80),
        REQUEST,
        demo_recipe(requirements=()),
    )
    assert spec["$schema"] == COMMAND_JOB_SCHEMA
    assert spec["type"] == "command"
    assert spec["compute"] == "azureml:gpu-a"
    assert spec["environment"] == "azureml:train@3"  # no requirements of its own: the registered one
    assert spec["name"] == "edgeloop-retrain-0123456789abcdef"
    assert "${{inputs.run_id}}" in spec["command"]
    assert spec["command"].startswith("python -m edgeloop.cli models train")
    assert spec["inputs"]["run_id"] == REQUEST.run_id
    assert spec["inputs"]["base_data"] == {"type": "uri_file", "path": "data/ai4i2020-train.csv"}
    assert "--base-data ${{inputs.base_data}}" in spec["command"]
    assert spec["environment_variables"]["RETRAIN_MIN_NEW_LABELS"] == "80"
    assert "RETRAIN_PRIMARY_METRIC" not in spec["environment_variables"]  # unset: the model's own
    text = yaml.safe_dump(spec)
    for secret in ("AccountKey", "CloudStorage", "MODEL_SIGNING_PRIVATE_KEY"):
        assert secret not in text
    assert yaml.safe_load(text) == spec  # what azure-ai-ml's load_job reads


def test_the_job_carries_the_recipe_and_its_requirements() -> None:
    recipe = demo_recipe(requirements=("lightgbm==4.6.0",), parameters={"n_estimators": 30})
    spec = command_job_spec(settings(), REQUEST, recipe)
    carried = json.loads(spec["environment_variables"]["RETRAIN_RECIPE"])
    assert carried["entry_point"] == "edgeloop.recipes.ai4i_failure:train"
    assert carried["parameters"] == {"n_estimators": 30}
    assert carried["base_data"]["columns"]["Torque [Nm]"] == "torque_nm"
    assert spec["tags"]["edgeloop.recipe"] == "edgeloop.recipes.ai4i_failure:train"
    environment = spec["environment"]
    assert environment["image"].startswith("mcr.microsoft.com/azureml/")
    pip = environment["conda_file"]["dependencies"][-1]["pip"]
    assert pip[-1] == "lightgbm==4.6.0"
    assert "scikit-learn==1.9.1" in pip  # Edgeloop's own training pins (pyproject.toml)
    # The job reads RETRAIN_RECIPE back as the settings of `models train` do.
    assert RetrainingSettings(RETRAIN_RECIPE=spec["environment_variables"]["RETRAIN_RECIPE"]).recipe == recipe


def test_blob_base_data_is_read_by_the_job_not_uploaded() -> None:
    spec = command_job_spec(settings(RETRAIN_BASE_DATA="blob://base/ai4i/"), REQUEST, demo_recipe())
    assert "base_data" not in spec["inputs"]
    assert "--base-data" not in spec["command"]
    assert spec["environment_variables"]["RETRAIN_BASE_DATA"] == "blob://base/ai4i/"


def test_a_bad_recipe_setting_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"RETRAIN_RECIPE: manifest field recipe\.entry_point"):
        settings(RETRAIN_RECIPE=json.dumps({"entry_point": "no colon"}))


def test_azureml_trainer_refuses_to_submit_without_a_workspace() -> None:
    with pytest.raises(TrainerUnavailable, match="AZUREML_SUBSCRIPTION_ID, AZUREML_RESOURCE_GROUP"):
        AzureMLTrainer(settings(RETRAIN_TRAINER="azureml")).submit(REQUEST)


class RecordingSender:
    """Stands in for the storage queue (the real one is exercised by the full-loop test)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def send(self, body: bytes) -> None:
        self.bodies.append(body)


def test_queue_trainer_sends_a_request_the_worker_reads_back() -> None:
    sender = RecordingSender()
    assert "run 0123456789abcdef" in QueueTrainer(sender).submit(REQUEST)
    assert request_from_json(sender.bodies[0]) == REQUEST


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "not JSON"),
        (b"[]", "JSON object"),
        (json.dumps({"run_id": "x", "requested_at": "2030-01-01T00:00:00Z"}).encode(), "reason"),
        (
            json.dumps({"run_id": "../x", "requested_at": "2030-01-01T00:00:00Z", "reason": "r"}).encode(),
            "run_id",
        ),
        (json.dumps({"run_id": "ab", "requested_at": "yesterday", "reason": "r"}).encode(), "requested_at"),
    ],
)
def test_a_malformed_retrain_request_names_the_problem(body: bytes, field: str) -> None:
    with pytest.raises((RetrainRequestError, ValueError), match=field):
        request_from_json(body)
    assert request_to_json(REQUEST).startswith(b'{"run_id"')


def test_replay_sends_rows_at_the_rate_in_ticks() -> None:
    rows = [ReplayRow({"n": i}, 0) for i in range(25)]
    batches = list(_batches(rows, rate=100.0))  # 10 rows per 0.1 s tick
    assert [len(batch) for _, batch in batches] == [10, 10, 5]
    assert [offset for offset, _ in batches] == [0.0, 0.1, 0.2]
    slow = list(_batches(rows[:3], rate=2.0))  # below one row per tick: one row per request
    assert [offset for offset, _ in slow] == [0.0, 0.5, 1.0]


def test_settings_reject_a_bad_primary_metric() -> None:
    with pytest.raises(ValueError, match="RETRAIN_PRIMARY_METRIC"):
        settings(RETRAIN_PRIMARY_METRIC="median_vibes")
