"""The local system's cloud: its processes, the first champion, and what it hands a site.

One cloud for the whole local fleet: the ``cloud`` Azurite account (data, registry,
the emulated Service Bus topic), the cloud Functions host and the global app.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from localdev.azurite import Azurite
from localdev.processes import FUNCTIONS_HOST, Component

log = logging.getLogger("edgeloop.run")

CLOUD_ACCOUNT = "cloud"
# Long enough for any local run (each `make run` issues a new one), short as a real one would be.
REGISTRY_SAS_LIFETIME = timedelta(days=7)


def cloud_components(global_app_port: int) -> tuple[Component, ...]:
    """The cloud's children, in start order."""
    return (
        Component("cloud functions", FUNCTIONS_HOST, ("--role", "cloud"), serves="cloud queues, timers"),
        Component("global app", "global_app", port=global_app_port),
    )


def registry_read_connection(azurite: Azurite, container: str | None = None) -> str:
    """A site's access to the model registry: a read/list SAS on its container, never the key.

    As docs/deployment.md prescribes for a real site (``az storage container generate-sas
    --permissions rl``), except that Azurite speaks plain HTTP, so HTTP is allowed here.
    """
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    from edgeloop.wire.storage_layout import MODELS_CONTAINER

    sas = generate_container_sas(
        account_name=CLOUD_ACCOUNT,
        container_name=container or MODELS_CONTAINER,
        account_key=azurite.accounts[CLOUD_ACCOUNT],
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + REGISTRY_SAS_LIFETIME,
        protocol="https,http",
    )
    endpoint = f"http://{azurite.host}:{azurite.blob_port}/{CLOUD_ACCOUNT}"
    return f"BlobEndpoint={endpoint};SharedAccessSignature={sas}"


def local_signing_public_key(key_dir: Path) -> str:
    """The local default model-signing key pair (generated once, never committed): its public half."""
    from edgeloop.adapters.ed25519_signing import ensure_key_pair

    return ensure_key_pair(key_dir)[1]


def publish_first_champion(env: dict[str, str]) -> str:
    """The served model becomes its line's first champion in the registry if the line has none;
    so does each ``RETRAIN_COHORTS`` line (a copy under the line's name: its sites start on it)."""
    from pydantic import SecretStr

    from edgeloop.bootstrap.retraining import publish_first_champion as publish
    from edgeloop.config.retraining import RetrainingSettings

    settings = RetrainingSettings(
        CloudStorage=SecretStr(env["CloudStorage"]),
        MODEL_SIGNING_KEY_DIR=Path(env["MODEL_SIGNING_KEY_DIR"]),
        RETRAIN_BASE_DATA=env.get("RETRAIN_BASE_DATA"),
        MODEL_NAME=env["MODEL_NAME"],
        RETRAIN_COHORTS=env.get("RETRAIN_COHORTS"),
    )
    bundle = Path(env["SCORING_MODEL_DIR"])
    version, published = publish(settings, bundle)
    log.info(
        "model registry: champion %s%s", version, " (the served model, just published)" if published else ""
    )
    for cohort in settings.model_lines.cohorts:
        with tempfile.TemporaryDirectory() as scratch:
            fork = fork_bundle(bundle, cohort.line, Path(scratch) / cohort.line)
            line_version, _ = publish(settings.model_copy(update={"model_name": cohort.line}), fork)
        log.info(
            "model registry: line %s (sites %s), champion %s",
            cohort.line,
            ", ".join(sorted(cohort.sites)),
            line_version,
        )
    return str(version)


def fork_bundle(bundle: Path, line: str, out_dir: Path) -> Path:
    """``bundle``'s files with its manifest naming ``line`` (publishing signs it anew)."""
    document = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    document["name"] = line
    out_dir.mkdir(parents=True)
    for name in document.get("files", {}):
        shutil.copyfile(bundle / name, out_dir / name)
    (out_dir / "manifest.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return out_dir
