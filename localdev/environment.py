"""What the local system's children share: where it listens, and the environment they all get.

Everything a component reads comes from here, as the containers' settings would in production:
the runner's own environment first, then the developer's (or the example) local.settings.json,
then the local values below. A fleet's sites get their own parts on top (localdev/sites.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from edgeloop.config.base import LOCAL_SETTINGS_ENV, read_local_settings_values
from localdev.azurite import REPO_ROOT, Azurite, free_port
from localdev.cloud import local_signing_public_key, registry_read_connection
from localdev.example_models import EXAMPLE_MODEL_ENV, example_model
from localdev.processes import local_secret

VAR = REPO_ROOT / "var"


@dataclass(frozen=True)
class Ports:
    """Where the local system listens; ``scoring_app`` is the first site's."""

    scoring_app: int = 8000
    global_app: int = 8001
    blob: int = 10000
    queue: int = 10001
    table: int = 10002
    sites_on_free_ports: bool = False  # the second site's and later ones too

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), free_port(), free_port(), sites_on_free_ports=True)

    def site_port(self, index: int) -> int:
        """The i-th site's scoring port (0-based): 8000, then 8002, 8003 ... past the global app."""
        if index == 0:
            return self.scoring_app
        return free_port() if self.sites_on_free_ports else self.global_app + index


STANDARD_PORTS = Ports()


def default_settings_file() -> Path:
    """The developer's local.settings.json if there is one, else the committed example."""
    settings_file = REPO_ROOT / "local.settings.json"
    return settings_file if settings_file.exists() else REPO_ROOT / "local.settings.example.json"


def component_environment(
    azurite: Azurite,
    api_key: str,
    *,
    var: Path = VAR,
    ports: Ports = STANDARD_PORTS,
    settings_file: Path | None = None,
) -> dict[str, str]:
    """The environment every child shares (a fleet's sites then get their own parts on top)."""
    env = dict(os.environ)
    env["SCORING_API_KEY"] = api_key
    # The admin key (X-Admin-Key, model rollback): separate from the API key, kept in var/ too.
    env["SCORING_ADMIN_API_KEY"] = local_secret("SCORING_ADMIN_API_KEY", var / "local" / "scoring-admin-key")
    # The site's pseudonymization key: generated on this machine, never leaves it.
    env["EDGELOOP_SITE_HMAC_KEY"] = local_secret("EDGELOOP_SITE_HMAC_KEY", var / "local" / "site-hmac-key")
    # The runner waits on these ports, so they are not left to other settings.
    env["SCORING_PORT"] = str(ports.scoring_app)
    env["GLOBAL_APP_PORT"] = str(ports.global_app)
    # The storage accounts are the Azurite this runner started.
    edge = azurite.connection_string("edge")
    cloud = azurite.connection_string("cloud")
    env.setdefault("EdgeStorage", edge)
    env.setdefault("AzureWebJobsStorage", edge)
    env.setdefault("CloudStorage", cloud)
    # A site reads the model registry with a read/list SAS on its container, never the account key.
    env.setdefault("SCORING_MODEL_REGISTRY_STORAGE", registry_read_connection(azurite))
    # Locally the Service Bus topic is emulated by queues on the cloud account.
    env.setdefault("ServiceBusConnection", cloud)
    # App settings: every component reads the same file (settings classes and the functions host).
    settings_file = settings_file or default_settings_file()
    env[LOCAL_SETTINGS_ENV] = str(settings_file)
    for name, value in read_local_settings_values(settings_file).items():
        env.setdefault(name, value)
    # State lives under the var directory unless a setting says otherwise; the model is what
    # `make model` built (var/ of the repository), whichever var directory holds the state.
    for name, value in example_model(env.get(EXAMPLE_MODEL_ENV)).settings(VAR, var).items():
        env.setdefault(name, value)
    for name, path in (
        ("SCORING_OUTBOX_PATH", var / "edge" / "outbox.sqlite3"),
        ("SCORING_API_KEY_FILE", var / "local" / "scoring-api-key"),
        ("CLOUD_SQLITE_PATH", var / "cloud" / "global.sqlite3"),
        ("POWERBI_SINK_DIR", var / "cloud" / "powerbi"),
        ("POWERBI_LEDGER_PATH", var / "cloud" / "powerbi-ledger.sqlite3"),
        ("RETRAIN_DRIFT_LEDGER", var / "cloud" / "drift-triggers.sqlite3"),
        ("MODEL_SIGNING_KEY_DIR", var / "local"),
    ):
        env.setdefault(name, str(path))
    env.setdefault("EDGELOOP_SITE_ID", "site-local")
    # The feedback loop: nightly retraining; the site trusts the local signing key pair.
    env.setdefault("RETRAIN_SCHEDULE", "0 0 2 * * *")
    env.setdefault(
        "SCORING_MODEL_SIGNING_PUBLIC_KEY", local_signing_public_key(Path(env["MODEL_SIGNING_KEY_DIR"]))
    )
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
