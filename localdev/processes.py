"""The local system's child processes: what one is, and how the runner waits for it.

A component is one ``python -m`` child; a site's components carry the site, so the
runner gives them the site's own environment on top of the shared one.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from localdev.azurite import wait_for_port

FUNCTIONS_HOST = "localdev.functions_host"


@dataclass(frozen=True)
class Component:
    name: str
    module: str
    args: tuple[str, ...] = ()
    port: int | None = None
    serves: str = ""  # where a component without a port is reached
    site: str | None = None  # the site id of a site's component; None: the cloud's

    @property
    def url(self) -> str | None:
        return None if self.port is None else f"http://127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]


class ComponentExited(RuntimeError):
    """A child exited while the system was starting."""


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


def local_secret(env_name: str, path: Path, *, from_environment: bool = True) -> str:
    """A local secret: from the environment, else generated once and kept (mode 600) in var/.

    ``from_environment=False``: one secret per site, so one variable cannot stand for all.
    """
    if from_environment and (value := os.environ.get(env_name)):
        return value
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value
