"""`make run` itself: ``python -m localdev.run`` starts a fleet, serves scorings, and stops cleanly.

The runner as a subprocess on free ports with a temporary var directory
(``--free-ports --var-dir``; the defaults stay 8000-8003, 10000-10002 and var/), with
its default of three sites: each site's scoring app answers as that site and reads the
registry (with its read-only SAS). After SIGTERM it must exit 0 with every process it
started gone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from support.bundles import valid_rows
from support.waiting import wait_until

from edgeloop.domain.manifest import load_manifest
from localdev.azurite import REPO_ROOT

pytestmark = pytest.mark.slow

START_TIMEOUT = 300.0  # three sites, each two processes, started one after the other
SITES = ("site-1", "site-2", "site-3")
STOP_TIMEOUT = 60.0


def process_start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return None if fields[0] == "Z" else int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every live descendant of ``root``: pid -> start time (so a reused pid is not mistaken for it)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: dict[int, int] = {}
    pending = list(children.get(root, []))
    while pending:
        pid = pending.pop()
        started = process_start_time(pid)
        if started is not None:
            found[pid] = started
            pending.extend(children.get(pid, []))
    return found


class Output:
    """The runner's combined output, read by a thread so the children never block on a full pipe."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self.lines: list[str] = []
        self._stream = process.stdout
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self._stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, process: subprocess.Popen[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r}:\n" + "\n".join(self.lines[-60:]))
            time.sleep(0.1)


# The closing summary: one row per process, each checked up as the table was made, and where it is.
SUMMARY_ROWS = (
    r"Azurite\s+127\.0\.0\.1 blob :\d+, queue :\d+, table :\d+ "
    r"\(accounts: site1, site2, site3, cloud\)\s+up \(pid \d+\)",
    *(rf"scoring app \({site}\)\s+http://127\.0\.0\.1:\d+/\s+up \(pid \d+\)" for site in SITES),
    *(
        rf"edge functions \({site}\)\s+account {site.replace('-', '')} queues\s+up \(pid \d+\)"
        for site in SITES
    ),
    r"cloud functions\s+cloud queues, timers\s+up \(pid \d+\)",
    r"global app\s+http://127\.0\.0\.1:\d+/\s+up \(pid \d+\)",
    r"model registry\s+cloud account\s+up \(champion \S+\)",
)
# Progress while starting: each step says what it starts and where, before the summary.
PROGRESS = (
    r"starting Azurite on 127\.0\.0\.1:\d+-\d+",
    r"model registry: champion",
    r"starting scoring app \(site-1\): http://127\.0\.0\.1:\d+/ \(python -m scoring_app\)",
    r"scoring app \(site-1\) is listening on http://127\.0\.0\.1:\d+/",
    r"starting edge functions \(site-1\): account site1 queues",
    r"starting scoring app \(site-3\): http://",
    r"starting global app: http://",
    *(rf"{site} serves \S+ \(the champion it fetched and verified\)" for site in SITES),
)


def assert_progress_and_summary(output: Output, runner: subprocess.Popen[str]) -> None:
    for pattern in PROGRESS + SUMMARY_ROWS:
        output.wait_for(pattern, runner, 10)
    lines = list(output.lines)
    summary_at = next(i for i, line in enumerate(lines) if "Edgeloop is running" in line)
    assert all(any(re.search(p, line) for line in lines[summary_at:]) for p in SUMMARY_ROWS)
    assert all(any(re.search(p, line) for line in lines[:summary_at]) for p in PROGRESS)


def serves_the_champion(scoring_url: str, champion: str) -> bool:
    """The site, started with no bundle, serves the champion it read (with its SAS) and verified."""
    checks = httpx.get(f"{scoring_url}/readyz", timeout=10).json()["checks"]
    delivery = checks["model_delivery"]
    return bool(delivery.get("registry_reachable")) and checks["model"].get("version") == champion


def fleet_replay_command(fleet_file: Path, api_key: str) -> list[str]:
    """30 rows over the fleet, 10 a site; site-3's torque sensor reads 8 N m high from the start."""
    csv = str(REPO_ROOT / "data" / "ai4i2020-train.csv")
    return [
        *(sys.executable, "-m", "edgeloop.cli", "replay", csv, "--fleet", "--fleet-file", str(fleet_file)),
        *("--api-key", api_key, "--limit", "30", "--rate", "200", "--feedback-delay", "0"),
        *("--drift", "torque_nm+8@0", "--drift-site", "site-3"),
    ]


def test_make_run_serves_three_sites_then_stops_everything_on_sigterm(
    tmp_path: Path, demo_bundle_dir: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SCORING_API_KEY", "EDGELOOP_LOCAL_SETTINGS")}
    env |= {"SCORING_MODEL_DIR": str(demo_bundle_dir), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "localdev.run", "--free-ports", "--var-dir", str(tmp_path / "var")]
    runner = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = Output(runner)
    started: dict[int, int] = {}
    try:
        output.wait_for(r"Edgeloop is running", runner, START_TIMEOUT)
        api_key = output.wait_for(r"local API key\s+(\S+)", runner, 10).group(1)
        urls = {
            site: output.wait_for(rf"scoring app \({site}\)\s+(http://127\.0\.0\.1:\d+)/", runner, 10).group(
                1
            )
            for site in SITES
        }
        output.wait_for(r"global app\s+http://127\.0\.0\.1:\d+/", runner, 10)
        champion = output.wait_for(
            r"model registry\s+cloud account\s+up \(champion (\S+)\)", runner, 10
        ).group(1)
        assert_progress_and_summary(output, runner)
        assert len(set(urls.values())) == len(SITES)
        # The key was generated into the var directory given, not the repository's var/.
        assert (tmp_path / "var" / "local" / "scoring-api-key").read_text().strip() == api_key
        # Each site keeps its own state and its own pseudonymization key.
        hmac_keys = {(tmp_path / "var" / "sites" / s / "local" / "site-hmac-key").read_text() for s in SITES}
        assert len(hmac_keys) == len(SITES)

        started = descendants(runner.pid)
        assert len(started) >= 9, (
            f"Azurite, three sites' two components and the cloud's two expected: {started}"
        )
        row = valid_rows(load_manifest(demo_bundle_dir), 1, seed=5)[0]
        for site, url in urls.items():
            wait_until(lambda url=url: serves_the_champion(url, champion), 60, f"{site} to serve {champion}")
            response = httpx.post(
                f"{url}/api/v1/score", json={"rows": [row]}, headers={"X-API-Key": api_key}, timeout=30
            )
            assert response.status_code == 200, response.text
            assert len(response.json()["results"]) == 1
            assert httpx.get(f"{url}/readyz", timeout=10).json()["checks"]["site_id"] == site

        # Each site its own rows, and one site's sensor recalibrated (edgeloop replay --fleet --drift).
        replay = subprocess.run(
            fleet_replay_command(tmp_path / "var" / "local" / "fleet.json", api_key),
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert replay.returncode == 0, replay.stderr
        for site in SITES:
            assert re.search(rf"{site}: 10 rows scored \(0 refused\), 10 outcomes reported", replay.stderr)

        runner.send_signal(signal.SIGTERM)
        assert runner.wait(STOP_TIMEOUT) == 0, "\n".join(output.lines[-60:])
        output.thread.join(STOP_TIMEOUT)  # the pipe closes once no process holds it
        assert not output.thread.is_alive()
        left = {pid for pid, start in started.items() if process_start_time(pid) == start}
        assert not left, f"still running after the runner exited: {left}"
    finally:
        for pid, start in started.items():
            if process_start_time(pid) == start:
                os.kill(pid, signal.SIGKILL)
        if runner.poll() is None:
            runner.kill()
            runner.wait(10)
