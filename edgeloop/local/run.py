"""`make run`: the whole local system on embedded defaults, in the foreground.

Starts Azurite (the ``edge`` and ``cloud`` storage accounts), then each
component as a child process wired to it through the same settings the
containers use in production. Ctrl-C or SIGTERM stops everything in reverse
order; if a component dies, the rest are stopped too and the exit code says so.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from edgeloop.config.base import read_local_settings_values
from edgeloop.local.azurite import REPO_ROOT, Azurite, wait_for_port

log = logging.getLogger("edgeloop.run")

VAR = REPO_ROOT / "var"
API_KEY_FILE = VAR / "local" / "scoring-api-key"
SITE_KEY_FILE = VAR / "local" / "site-hmac-key"


@dataclass(frozen=True)
class Component:
    name: str
    module: str
    args: tuple[str, ...] = ()
    port: int | None = None
    url: str | None = None


COMPONENTS = (
    Component("scoring app", "scoring_app", port=8000, url="http://127.0.0.1:8000/"),
    Component("edge functions", "edgeloop.functions_host", ("--role", "edge")),
    Component("cloud functions", "edgeloop.functions_host", ("--role", "cloud")),
    Component("global app", "global_app", port=8001, url="http://127.0.0.1:8001/"),
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


def component_environment(azurite: Azurite, api_key: str) -> dict[str, str]:
    env = dict(os.environ)
    env["SCORING_API_KEY"] = api_key
    # The site's pseudonymization key: generated on this machine, never leaves it.
    env["EDGELOOP_SITE_HMAC_KEY"] = local_secret("EDGELOOP_SITE_HMAC_KEY", SITE_KEY_FILE)
    # The storage accounts are the Azurite this runner started.
    edge = azurite.connection_string("edge")
    cloud = azurite.connection_string("cloud")
    env.setdefault("EdgeStorage", edge)
    env.setdefault("AzureWebJobsStorage", edge)
    env.setdefault("CloudStorage", cloud)
    # Locally the Service Bus topic is emulated by queues on the cloud account.
    env.setdefault("ServiceBusConnection", cloud)
    # App settings: the developer's local.settings.json if there is one, else the committed example.
    settings_file = REPO_ROOT / "local.settings.json"
    if not settings_file.exists():
        settings_file = REPO_ROOT / "local.settings.example.json"
    for name, value in read_local_settings_values(settings_file).items():
        env.setdefault(name, value)
    env.setdefault("EDGELOOP_SITE_ID", "site-local")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class LocalSystem:
    def __init__(self) -> None:
        self.azurite = Azurite(location=VAR / "azurite")
        self.children: list[tuple[Component, subprocess.Popen[bytes]]] = []
        self.stopping = threading.Event()

    def start(self) -> None:
        log.info("starting Azurite on 127.0.0.1:10000-10002 (data in var/azurite)")
        self.azurite.start()
        api_key = local_secret("SCORING_API_KEY", API_KEY_FILE)
        env = component_environment(self.azurite, api_key)
        for component in COMPONENTS:
            log.info("starting %s", component.name)
            process = subprocess.Popen(
                [sys.executable, "-m", component.module, *component.args], cwd=REPO_ROOT, env=env
            )
            self.children.append((component, process))
            if component.port is not None:
                wait_for_port("127.0.0.1", component.port, timeout=120)
        print("\nEdgeloop is running (Ctrl-C stops everything):", flush=True)
        for component in COMPONENTS:
            if component.url:
                print(f"  {component.name:<16} {component.url}", flush=True)
        print("  Azurite          blob :10000, queue :10001, table :10002 (accounts: edge, cloud)")
        print(f"  local API key    {api_key}   (header X-API-Key)\n", flush=True)

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
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in 30 s; killing it", component.name)
                process.kill()
                process.wait()
        log.info("stopping Azurite")
        self.azurite.stop()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    system = LocalSystem()

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
