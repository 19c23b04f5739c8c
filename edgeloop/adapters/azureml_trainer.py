"""The Trainer port on Azure Machine Learning: one command job per retraining run.

:func:`command_job_spec` builds the job as a plain dict following the AML
command job YAML schema (``commandJob.schema.json``), so it is tested offline
without the SDK. :class:`AzureMLTrainer` submits it with ``azure-ai-ml`` (the
optional ``azureml`` extra, imported only here and only when submitting), and
only when a workspace is configured. The job runs the same code as the local
worker: ``python -m edgeloop.cli models train``. Secrets are not in the spec:
the compute's managed identity reads them (Key Vault references in its settings).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml

from edgeloop.config.retraining import RetrainingSettings
from edgeloop.ports import RetrainRequest

COMMAND_JOB_SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
# Settings the run needs that are not secrets; passed to the job as environment variables.
FORWARDED_SETTINGS = (
    "RETRAIN_SEED",
    "RETRAIN_N_ESTIMATORS",
    "RETRAIN_MIN_NEW_LABELS",
    "RETRAIN_PRIMARY_METRIC",
    "RETRAIN_PROMOTION_MARGIN",
    "RETRAIN_LOOKBACK_DAYS",
    "MODEL_NAME",
    "MODEL_REGISTRY_CONTAINER",
    "RETRAIN_COMPLIANT_CONTAINER",
)


class TrainerUnavailable(RuntimeError):
    """The Azure ML trainer cannot submit (no workspace configured, or the SDK is not installed)."""


def command_job_spec(settings: RetrainingSettings, request: RetrainRequest) -> dict[str, Any]:
    values = settings.model_dump(by_alias=True)
    environment = {name: str(values[name]) for name in FORWARDED_SETTINGS}
    return {
        "$schema": COMMAND_JOB_SCHEMA,
        "type": "command",
        "name": f"edgeloop-retrain-{request.run_id}",
        "display_name": f"Retrain {settings.model_name} ({request.reason})",
        "experiment_name": settings.azureml_experiment,
        "description": "Edgeloop retraining run: challenger vs champion, promotion decision, registry.",
        "code": settings.azureml_code,
        "command": (
            "python -m edgeloop.cli models train"
            " --run-id ${{inputs.run_id}} --reason ${{inputs.reason}}"
            " --base-data ${{inputs.base_data}}"
        ),
        "inputs": {
            "run_id": request.run_id,
            "reason": request.reason,
            "base_data": {"type": "uri_file", "path": str(settings.base_data)},
        },
        "environment": settings.azureml_environment,
        "compute": f"azureml:{settings.azureml_compute}",
        "environment_variables": environment,
        "tags": {"edgeloop.run_id": request.run_id, "edgeloop.model": settings.model_name},
    }


class AzureMLTrainer:
    def __init__(self, settings: RetrainingSettings) -> None:
        self._settings = settings

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
        spec = command_job_spec(settings, request)
        # Paths in a job YAML are relative to the file, which lives in a temporary directory.
        spec["code"] = str(Path(spec["code"]).resolve())
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
