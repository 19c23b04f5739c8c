"""The whole local system for tests, started the way ``make run`` starts it.

Reuses the runner (``localdev.run``): the same components, start order,
environment and reverse-order stop, on free ports with a temporary var
directory. Differences, all for speed or inspection: each child writes to its
own log file, the Functions hosts get a host.json with fast queue polling, and
``overrides`` go on top of the runner's environment (the model bundle, the
dead-letter count ...). Settings come from the committed
local.settings.example.json, never a developer's local.settings.json.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.waiting import wait_until as poll_until

from edgeloop.adapters.powerbi_local_sink import LocalRowSink
from edgeloop.domain.powerbi_schema import DEFAULT_DATASET_NAME
from localdev.azurite import REPO_ROOT
from localdev.run import Component, LocalSystem, Ports, component_environment

EXAMPLE_SETTINGS = REPO_ROOT / "local.settings.example.json"
FUNCTIONS_HOST = "localdev.functions_host"
LOG_TAIL_LINES = 40
READY_TIMEOUT = 120.0


def fast_host_json(path: Path) -> Path:
    """The project's host.json with queue polling and retry delay shortened (seconds -> ms)."""
    document = json.loads((REPO_ROOT / "host.json").read_text(encoding="utf-8"))
    document["extensions"]["queues"].update(
        maxPollingInterval="00:00:00.200", visibilityTimeout="00:00:00.100"
    )
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class SystemUnderTest(LocalSystem):
    """``LocalSystem`` with per-child logs, a fast host.json and environment overrides."""

    def __init__(self, var: Path, overrides: dict[str, str], sites: int = 1) -> None:
        super().__init__(var, Ports.free(), sites=sites)
        self.overrides = overrides
        self.logs_dir = var / "logs"
        self.host_json = var / "host.json"
        self.env: dict[str, str] = {}
        self.stopped: list[Component] = []  # stopped by a test, to be restarted

    # -- LocalSystem hooks ----------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        env = component_environment(
            self.azurite, self.api_key, var=self.var, ports=self.ports, settings_file=EXAMPLE_SETTINGS
        )
        # The site's heartbeat off unless a test asks for it: its records would join the exact
        # counts of blobs and function runs the other tests wait on (its own test turns it on).
        self.env = env | {"SCORING_HEARTBEAT_INTERVAL_SECONDS": "0"} | self.overrides
        return self.env

    def launch(self, component: Component, env: dict[str, str]) -> subprocess.Popen[bytes]:
        command = component.command()
        if component.module == FUNCTIONS_HOST:
            command += ["--host-json", str(self.host_json)]
        with self.log_path(component.name).open("ab") as log:
            return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def trust_sites(self, shared: dict[str, str]) -> dict[str, str]:
        # Kept: a component restarted later gets the sites' public keys too.
        self.env = super().trust_sites(shared)
        return self.env

    def start(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        fast_host_json(self.host_json)
        super().start()
        hosts = [c.name for c in self.components if c.module == FUNCTIONS_HOST]
        self.wait_until(
            lambda: all("Host started" in self.log(name) for name in hosts),
            READY_TIMEOUT,
            "the hosts to start",
        )

    def stop_component(self, component_name: str) -> None:
        """Stop one child (SIGTERM, as the runner does) and leave it stopped: an outage."""
        component, process = next((c, p) for c, p in self.children if c.name == component_name)
        self.children.remove((component, process))
        process.terminate()
        process.wait(timeout=60)
        self.stopped.append(component)

    def restart_component(self, component_name: str) -> None:
        """Start a child :meth:`stop_component` stopped, with the environment it had."""
        component = next(c for c in self.stopped if c.name == component_name)
        self.stopped.remove(component)
        started_before = self.log(component_name).count("Host started")
        self.children.append((component, self.launch(component, self.environment_of(component, self.env))))
        if component.module == FUNCTIONS_HOST:
            self.wait_until(
                lambda: self.log(component_name).count("Host started") > started_before,
                READY_TIMEOUT,
                f"{component_name} to start again",
            )

    # -- Where things are -----------------------------------------------------------------

    def url(self, component_name: str) -> str:
        component = next(c for c in self.components if c.name == component_name)
        assert component.url is not None
        return component.url.rstrip("/")

    @property
    def scoring_url(self) -> str:
        return self.url("scoring app")

    @property
    def global_url(self) -> str:
        return self.url("global app")

    @property
    def powerbi_sink(self) -> LocalRowSink:
        return LocalRowSink(Path(self.env["POWERBI_SINK_DIR"]) / DEFAULT_DATASET_NAME)

    def connection_string(self, account: str) -> str:
        return self.azurite.connection_string(account)

    # -- Logs and waiting -----------------------------------------------------------------

    def log_path(self, component_name: str) -> Path:
        return self.logs_dir / f"{_slug(component_name)}.log"

    def log(self, component_name: str) -> str:
        path = self.log_path(component_name)
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def succeeded(self, component_name: str, function: str) -> int:
        """Successful invocations of ``function`` so far (the host's grep-able log lines)."""
        return self.log(component_name).count(f"Executed 'Functions.{function}' (Succeeded")

    def diagnostics(self) -> str:
        """The tail of every child's log (and Azurite's), for failure messages."""
        parts = []
        for name, path in [(c.name, self.log_path(c.name)) for c in self.components] + [
            ("azurite", self.var / "azurite" / "azurite.log")
        ]:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []
            parts.append(
                f"----- {name} (last {LOG_TAIL_LINES} lines) -----\n" + "\n".join(lines[-LOG_TAIL_LINES:])
            )
        return "\n".join(parts)

    def check_alive(self) -> None:
        for component, process in self.children:
            if process.poll() is not None:
                raise AssertionError(
                    f"{component.name} exited with code {process.returncode}\n{self.diagnostics()}"
                )

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``condition`` (bounded); fail with every child's log tail if it never holds."""
        poll_until(condition, timeout, what, interval=0.1, check=self.check_alive, details=self.diagnostics)

    # -- The components' HTTP APIs --------------------------------------------------------

    def score(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST rows to the scoring API; the per-row results."""
        response = httpx.post(
            f"{self.scoring_url}/api/v1/score",
            json={"rows": rows},
            headers={"X-API-Key": self.api_key},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def feedback(self, labels: dict[str, int]) -> list[str]:
        """Report outcomes (insight id -> label); the feedback ids."""
        items = [{"insight_id": insight_id, "label": label} for insight_id, label in labels.items()]
        response = httpx.post(
            f"{self.scoring_url}/api/v1/feedback",
            json={"items": items},
            headers={"X-API-Key": self.api_key},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        feedback_ids: list[str] = response.json()["feedback_ids"]
        return feedback_ids

    def outbox_depth(self) -> int:
        """Records accepted by the scoring app but not yet on the edge queue."""
        response = httpx.get(f"{self.scoring_url}/readyz", timeout=10)
        assert response.status_code == 200, response.text
        return int(response.json()["checks"]["outbox"]["depth"])

    def summary(self) -> dict[str, Any]:
        response = httpx.get(f"{self.global_url}/api/v1/summary", timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def insights(self, **params: str) -> list[dict[str, Any]]:
        """Every insight the global app lists (all pages)."""
        items: list[dict[str, Any]] = []
        query: dict[str, str] = {"limit": "1000", **params}
        for _ in range(1000):
            response = httpx.get(f"{self.global_url}/api/v1/insights", params=query, timeout=30)
            assert response.status_code == 200, response.text
            page = response.json()
            items.extend(page["items"])
            if not page["next_cursor"]:
                return items
            query["cursor"] = page["next_cursor"]
        raise AssertionError("more than 1000 pages of insights")


@contextmanager
def running_system(
    var: Path, request: pytest.FixtureRequest, sites: int = 1, **overrides: str
) -> Iterator[SystemUnderTest]:
    """Start the system (``sites`` of them) for a fixture; stopped in reverse order after it.

    A failed start shows every child's log tail; so does the teardown when a test
    using the system failed (pytest prints a fixture's output only then).
    """
    system = SystemUnderTest(var, overrides, sites)
    failed_before = request.session.testsfailed
    try:
        try:
            system.start()
        except (TimeoutError, RuntimeError) as exc:
            raise AssertionError(f"the local system did not start: {exc}\n{system.diagnostics()}") from exc
        yield system
    finally:
        if request.session.testsfailed > failed_before:
            print(system.diagnostics())
        system.stop()
