"""Run ``python -m localdev.functions_host`` as a child process for the integration tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.waiting import wait_until as poll_until

APPS = Path(__file__).resolve().parent
REPO_ROOT = APPS.parents[2]


def fast_host_json(path: Path, **queues: Any) -> Path:
    """A host.json with tight polling (fast tests) plus the given ``extensions.queues`` values."""
    options = {"maxPollingInterval": "00:00:00.500", **queues}
    path.write_text(json.dumps({"version": "2.0", "extensions": {"queues": options}}), encoding="utf-8")
    return path


@dataclass
class HostProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for a graceful exit; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"host did not stop within {timeout}s:\n{self.output()}") from None

    def kill(self) -> None:
        """kill -9: no chance to finish or acknowledge anything."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def start_host(
    app: str, log_dir: Path, settings: dict[str, str], *args: str, name: str = "host"
) -> HostProcess:
    """Start the host on ``tests/support/function_apps/<app>/function_app.py``."""
    env = {k: v for k, v in os.environ.items() if k != "EDGELOOP_LOCAL_SETTINGS"}
    env.update(settings)
    env["PYTHONUNBUFFERED"] = "1"
    log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
    app_file = str(APPS / app / "function_app.py")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localdev.functions_host", "--app", app_file, *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return HostProcess(process, log_path)


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, host: HostProcess | None = None
) -> None:
    """Poll ``condition`` (bounded by ``timeout``); fail with the host's log if it never holds."""

    def host_alive() -> None:
        if host is not None and host.process.poll() is not None:
            raise AssertionError(f"host exited ({host.process.returncode}) before {what}:\n{host.output()}")

    poll_until(
        condition, timeout, what, interval=0.05, check=host_alive, details=host.output if host else None
    )


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
