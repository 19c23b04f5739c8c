"""`make run`: the whole local system on embedded defaults, in the foreground.

Starts Azurite (the ``edge`` and ``cloud`` storage accounts), then each
component as a child process wired to it through the same settings the
containers use in production. Ctrl-C or SIGTERM stops everything in reverse
order; if a component dies, the rest are stopped too and the exit code says so.

``--free-ports``/``--var-dir``: a second system (the end-to-end tests); else 8000, 8001, 10000-10002, var/.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from edgeloop.config.base import LOCAL_SETTINGS_ENV, read_local_settings_values
from localdev.azurite import REPO_ROOT, Azurite, free_port, wait_for_port
from localdev.example_models import EXAMPLE_MODEL_ENV, example_model, write_powerbi_definition
from localdev.summary import SummaryRow, azurite_where, print_summary, process_state

log = logging.getLogger("edgeloop.run")

VAR = REPO_ROOT / "var"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Ports:
    """Where the local system listens."""

    scoring_app: int = 8000
    global_app: int = 8001
    blob: int = 10000
    queue: int = 10001
    table: int = 10002

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), free_port(), free_port())


STANDARD_PORTS = Ports()
FUNCTIONS_HOST = "localdev.functions_host"


@dataclass(frozen=True)
class Component:
    name: str
    module: str
    args: tuple[str, ...] = ()
    port: int | None = None
    serves: str = ""  # where a component without a port is reached

    @property
    def url(self) -> str | None:
        return None if self.port is None else f"http://127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]


def components(ports: Ports = STANDARD_PORTS) -> tuple[Component, ...]:
    """The children, in start order (stopped in reverse)."""
    return (
        Component("scoring app", "scoring_app", port=ports.scoring_app),
        Component("edge functions", FUNCTIONS_HOST, ("--role", "edge"), serves="edge account queues"),
        Component("cloud functions", FUNCTIONS_HOST, ("--role", "cloud"), serves="cloud queues, timers"),
        Component("global app", "global_app", port=ports.global_app),
    )


def local_secret(env_name: str, path: Path) -> str:
    """A local secret: from the environment, else generated once and kept (mode 600) in var/."""
    if value := os.environ.get(env_name):
        return value
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


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
    env.setdefault("SCORING_MODEL_REGISTRY_STORAGE", cloud)  # the site reads the model registry there
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


def local_signing_public_key(key_dir: Path) -> str:
    """The local default model-signing key pair (generated once, never committed): its public half."""
    from edgeloop.adapters.ed25519_signing import ensure_key_pair

    return ensure_key_pair(key_dir)[1]


def publish_first_champion(env: dict[str, str]) -> str:
    """The served model becomes its line's first champion in the registry if the line has none."""
    from pydantic import SecretStr

    from edgeloop.bootstrap.retraining import publish_first_champion as publish
    from edgeloop.config.retraining import RetrainingSettings

    settings = RetrainingSettings(
        CloudStorage=SecretStr(env["CloudStorage"]),
        MODEL_SIGNING_KEY_DIR=Path(env["MODEL_SIGNING_KEY_DIR"]),
        RETRAIN_BASE_DATA=env.get("RETRAIN_BASE_DATA"),
        MODEL_NAME=env["MODEL_NAME"],
    )
    version, published = publish(settings, Path(env["SCORING_MODEL_DIR"]))
    log.info(
        "model registry: champion %s%s", version, " (the served model, just published)" if published else ""
    )
    return str(version)


class ComponentExited(RuntimeError):
    """A child exited while the system was starting."""


class LocalSystem:
    def __init__(self, var: Path = VAR, ports: Ports = STANDARD_PORTS) -> None:
        self.var = var
        self.ports = ports
        self.components = components(ports)
        self.azurite = Azurite(
            location=var / "azurite", blob_port=ports.blob, queue_port=ports.queue, table_port=ports.table
        )
        self.api_key = ""
        self.children: list[tuple[Component, subprocess.Popen[bytes]]] = []
        self.stopping = threading.Event()
        self.champion = ""

    def environment(self) -> dict[str, str]:
        return component_environment(self.azurite, self.api_key, var=self.var, ports=self.ports)

    def launch(self, component: Component, env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start one child (its output goes to ours)."""
        return subprocess.Popen(component.command(), cwd=REPO_ROOT, env=env)

    def start(self) -> None:
        p = self.ports
        log.info("starting Azurite on 127.0.0.1:%d-%d (data in %s)", p.blob, p.table, self.var / "azurite")
        self.azurite.start()
        self.api_key = local_secret("SCORING_API_KEY", self.var / "local" / "scoring-api-key")
        env = self.environment()
        log.info("publishing the demo model to the registry if it has no champion")
        self.champion = publish_first_champion(env)
        write_powerbi_definition(env, self.var)
        for component in self.components:
            where = component.url or component.serves
            log.info("starting %s: %s (python -m %s)", component.name, where, component.module)
            process = self.launch(component, env)
            self.children.append((component, process))
            if component.port is not None:
                wait_until_listening(component, process, START_TIMEOUT)
                log.info("%s is listening on %s", component.name, component.url)
        print_summary(self.summary_rows(), self.api_key, self.var)

    def summary_rows(self) -> list[SummaryRow]:
        where = azurite_where(self.ports.blob, self.ports.queue, self.ports.table)
        rows = [SummaryRow("Azurite", where, process_state(self.azurite.process))]
        rows += [SummaryRow(c.name, c.url or c.serves, process_state(p)) for c, p in self.children]
        return [*rows, SummaryRow("model registry", "cloud account", f"up (champion {self.champion})")]

    def watch(self) -> int:
        """Block until a stop signal or a child exits; returns the exit code."""
        while not self.stopping.wait(0.5):
            for component, process in self.children:
                if process.poll() is not None:
                    log.error("%s exited with code %s; stopping the rest", component.name, process.returncode)
                    return 1
        return 0

    def stop(self) -> None:
        for component, process in reversed(self.children):
            if process.poll() is None:
                log.info("stopping %s", component.name)
                process.send_signal(signal.SIGTERM)
        for component, process in reversed(self.children):
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", component.name, STOP_TIMEOUT)
                process.kill()
                process.wait()
        log.info("stopping Azurite")
        self.azurite.stop()


def wait_until_listening(component: Component, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for the component's port; fail at once if it exits first (not after the timeout)."""
    assert component.port is not None
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ComponentExited(f"{component.name} exited with code {process.returncode} while starting")
        try:
            wait_for_port("127.0.0.1", component.port, timeout=0.5)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{component.name}: nothing listens on :{component.port}") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localdev.run", description="the local system")
    parser.add_argument("--var-dir", type=Path, default=VAR, help="state directory (default: var/)")
    parser.add_argument(
        "--free-ports", action="store_true", help="listen on free ports instead of 8000, 8001, 10000-10002"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(argv)
    system = LocalSystem(args.var_dir.resolve(), Ports.free() if args.free_ports else STANDARD_PORTS)

    def request_stop(signum: int, frame: FrameType | None) -> None:
        system.stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        system.start()
        code = system.watch()
    finally:
        system.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
