"""The Trainer port on Azure Machine Learning: one command job per retraining run.

:func:`command_job_spec` builds the job as a plain dict following the AML
command job YAML schema (``commandJob.schema.json``), so it is tested offline
without the SDK. :class:`AzureMLTrainer` submits it with ``azure-ai-ml`` (the
optional ``azureml`` extra, imported only here and only when submitting), and
only when a workspace is configured. The job runs the same code as the local
worker: ``python -m edgeloop.cli models train``, and carries the run's recipe:
its block as ``RETRAIN_RECIPE`` (entry point, parameters, time limit, base data), its
requirements as the pip list of the job's own environment (with Edgeloop's training
dependencies, on ``AZUREML_IMAGE``), a local base data file as the job's input (a
``blob://`` base data is read by the job through the cloud account). Secrets are not
in the spec: the compute's managed identity reads them (Key Vault references).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.recipes import RecipeSpec
from edgeloop.ports import RetrainRequest

COMMAND_JOB_SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
# Settings the run needs that are not secrets; passed to the job as environment variables when set.
FORWARDED_SETTINGS = (
    "RETRAIN_SEED",
    "RETRAIN_MIN_NEW_LABELS",
    "RETRAIN_PRIMARY_METRIC",
    "RETRAIN_PROMOTION_MARGIN",
    "RETRAIN_MAX_LABEL_SHIFT",
    "RETRAIN_LOOKBACK_DAYS",
    "MODEL_NAME",
    "MODEL_REGISTRY_CONTAINER",
    "RETRAIN_COMPLIANT_CONTAINER",
    "RETRAIN_COHORTS",
    "RETRAIN_SITE_FIT_MIN_ROWS",
    "RETRAIN_SITE_FIT_TOLERANCE",
)
BASE_COMMAND = "python -m edgeloop.cli models train --run-id ${{inputs.run_id}} --reason ${{inputs.reason}}"
BLOB_SCHEME = "blob://"


class TrainerUnavailable(RuntimeError):
    """The Azure ML trainer cannot submit (no workspace configured, or the SDK is not installed)."""


def edgeloop_requirements() -> list[str]:
    """Edgeloop's own pinned dependencies with the ``train`` extra (from the installed metadata)."""
    pinned = []
    for requirement in metadata.requires("edgeloop") or []:
        spec, _, marker = requirement.partition(";")
        if not marker.strip() or marker.replace(" ", "") in ('extra=="train"', "extra=='train'"):
            pinned.append(spec.strip())
    return pinned


def _environment(settings: RetrainingSettings, recipe: RecipeSpec | None) -> str | dict[str, Any]:
    """The registered environment, or (a recipe with requirements) one of the job's own."""
    if recipe is None or not recipe.requirements:
        return settings.azureml_environment
    return {
        "image": settings.azureml_image,
        "conda_file": {
            "name": "edgeloop-recipe",
            "channels": ["conda-forge"],
            "dependencies": [
                "python=3.11",
                "pip",
                {"pip": [*edgeloop_requirements(), *recipe.requirements]},
            ],
        },
    }


def command_job_spec(
    settings: RetrainingSettings, request: RetrainRequest, recipe: RecipeSpec | None = None
) -> dict[str, Any]:
    values = settings.model_dump(by_alias=True)
    environment = {name: str(values[name]) for name in FORWARDED_SETTINGS if values[name] is not None}
    inputs: dict[str, Any] = {"run_id": request.run_id, "reason": request.reason}
    command = BASE_COMMAND
    if request.line is not None:
        inputs["line"] = request.line
        command += " --line ${{inputs.line}}"
    base_uri = settings.base_data or (recipe.base_data.uri if recipe and recipe.base_data else None)
    if recipe is not None:
        environment["RETRAIN_RECIPE"] = json.dumps(recipe.to_dict(), sort_keys=True)
    if base_uri is not None and base_uri.startswith(BLOB_SCHEME):
        environment["RETRAIN_BASE_DATA"] = base_uri
    elif base_uri is not None:
        inputs["base_data"] = {"type": "uri_file", "path": base_uri}
        command += " --base-data ${{inputs.base_data}}"
    tags = {"edgeloop.run_id": request.run_id, "edgeloop.model": request.line or settings.model_name}
    if recipe is not None:
        tags["edgeloop.recipe"] = recipe.entry_point
    return {
        "$schema": COMMAND_JOB_SCHEMA,
        "type": "command",
        "name": f"edgeloop-retrain-{request.run_id}",
        "display_name": f"Retrain {request.line or settings.model_name} ({request.reason})",
        "experiment_name": settings.azureml_experiment,
        "description": "Edgeloop retraining run: challenger vs champion, promotion decision, registry.",
        "code": settings.azureml_code,
        "command": command,
        "inputs": inputs,
        "environment": _environment(settings, recipe),
        "compute": f"azureml:{settings.azureml_compute}",
        "environment_variables": environment,
        "tags": tags,
    }


class AzureMLTrainer:
    """``recipe_source``: the recipe a run would use now (the champion's, or RETRAIN_RECIPE)."""

    def __init__(
        self, settings: RetrainingSettings, recipe_source: Callable[[], RecipeSpec | None] = lambda: None
    ) -> None:
        self._settings = settings
        self._recipe_source = recipe_source

    def submit(self, request: RetrainRequest) -> str:
        settings = self._settings
        if not settings.azureml_workspace_configured:
            raise TrainerUnavailable(
                "RETRAIN_TRAINER=azureml needs AZUREML_SUBSCRIPTION_ID, AZUREML_RESOURCE_GROUP "
                "and AZUREML_WORKSPACE"
            )
        try:
            from azure.ai.ml import MLClient, load_job
            from azure.identity import DefaultAzureCredential
        except ImportError as exc:
            raise TrainerUnavailable("azure-ai-ml is not installed: pip install 'edgeloop[azureml]'") from exc
        spec = command_job_spec(settings, request, self._recipe_source())
        # Paths in a job YAML are relative to the file, which lives in a temporary directory.
        spec["code"] = str(Path(spec["code"]).resolve())
        if "base_data" in spec["inputs"]:
            spec["inputs"]["base_data"]["path"] = str(Path(spec["inputs"]["base_data"]["path"]).resolve())
        client = MLClient(
            DefaultAzureCredential(),
            settings.azureml_subscription_id,
            settings.azureml_resource_group,
            settings.azureml_workspace,
        )
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "job.yaml"
            path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
            job = client.jobs.create_or_update(load_job(source=path))
        return f"azureml job {job.name}"
