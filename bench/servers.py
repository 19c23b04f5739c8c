"""Server processes under test: started on 127.0.0.1 free ports, ready-checked, measured, stopped.

Each server runs in a process group of its own, so stopping it ends its
workers too (and nothing else). Peak memory is read from /proc (VmHWM).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from localdev.azurite import free_port, stop_process_group

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_VENV_PYTHON = REPO_ROOT / ".venv-bench" / "bin" / "python"
# Servers under test share CPU 0; the load generator gets CPU 1 (bench/measure.py).
SERVER_CPUS = "0" if (os.cpu_count() or 1) >= 2 and shutil.which("taskset") else None


def pinned(command: list[str], cpus: str | None) -> list[str]:
    """``command`` under ``taskset -c cpus`` (its children inherit it), or as is when ``cpus`` is None."""
    return ["taskset", "-c", cpus, *command] if cpus else command


class ServerError(RuntimeError):
    """A server did not come up (the message holds the tail of its log)."""


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    ready_path: str
    log_path: Path
    cwd: Path = REPO_ROOT  # the tree whose code it runs (bench/trees.py starts another tree's app)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def start(self, timeout: float = 120.0) -> Server:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise ServerError(
                        f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                    )
                try:
                    if client.get(self.base_url + self.ready_path).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServerError(f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}")
                time.sleep(0.2)

    def processes(self) -> list[int]:
        """The server's process and its descendants (BentoML runs workers under an arbiter)."""
        found = [self.pid]
        for pid in found:  # grows as children are found: a breadth-first walk
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except FileNotFoundError:
                continue
            found.extend(int(child) for child in children)
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the server's processes (/proc, Linux)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.processes():
            try:
                # Fields after the command's closing parenthesis; utime and stime are 14 and 15.
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / ticks

    def peak_rss_mb(self) -> float:
        """VmHWM of the server's main process (the single uvicorn worker), in MiB."""
        return vm_hwm_kib(self.pid) / 1024

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is not None:
            stop_process_group(self.process, timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise ServerError(f"no VmHWM for process {pid}")


def base_env(**extra: str) -> dict[str, str]:
    # An absent local.settings.json: a developer's own file must not change what is measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCORING_", "EDGELOOP_"))}
    env |= {"PYTHONUNBUFFERED": "1", "EDGELOOP_LOCAL_SETTINGS": "/nonexistent/local.settings.json"}
    env |= extra
    return env


def scoring_app(
    work: Path,
    name: str,
    model_dir: Path,
    api_key: str,
    edge_storage: str,
    queue: str,
    *,
    relay: bool,
    tree: Path = REPO_ROOT,
) -> Server:
    """``python -m scoring_app`` with one worker and its own outbox; relay on or off.

    ``tree``: the checkout whose app it is (its own ``.venv``), this one by default.
    """
    port = free_port()
    env = base_env(
        SCORING_HOST="127.0.0.1",
        SCORING_PORT=str(port),
        SCORING_WORKERS="1",
        SCORING_MODEL_DIR=str(model_dir),
        SCORING_OUTBOX_PATH=str(work / f"{name}-outbox.sqlite3"),
        # Room for every row of the run: the relay-off server's outbox never drains, and at
        # 70,000 rows/s the default 1,000,000 fills (503s) within its measurements.
        SCORING_OUTBOX_CAPACITY="100000000",
        SCORING_API_KEY=api_key,
        SCORING_RELAY_ENABLED="true" if relay else "false",
        EdgeStorage=edge_storage,
        INSIGHTS_QUEUE=queue,
        EDGELOOP_SITE_ID=f"bench-{name}",
    )
    python = sys.executable if tree == REPO_ROOT else str(tree / ".venv" / "bin" / "python")
    command = pinned([python, "-m", "scoring_app"], SERVER_CPUS)
    return Server(name, command, env, port, "/readyz", work / f"{name}.log", cwd=tree)


def _uvicorn(app: str, port: int, *options: str) -> list[str]:
    """``uvicorn app`` with the scoring app's settings: uvloop, httptools, one worker, no access log."""
    return [
        sys.executable, "-m", "uvicorn", app, *options,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def naive_app(work: Path, model_dir: Path) -> Server:
    """bench/naive_app.py under uvicorn with the scoring app's uvicorn settings."""
    port = free_port()
    command = _uvicorn("bench.naive_app:app", port)
    env = base_env(BENCH_MODEL_DIR=str(model_dir))
    return Server("naive", pinned(command, SERVER_CPUS), env, port, "/healthz", work / "naive.log")


def bare_app(work: Path, body: bytes) -> Server:
    """bench/bare_app.py answering ``body`` to every request, with the scoring app's uvicorn settings."""
    port = free_port()
    body_file = work / "bare-app-body"
    body_file.write_bytes(body)
    command = _uvicorn("bench.bare_app:create_app", port, "--factory")
    env = base_env(BENCH_FIXED_BODY=str(body_file))
    return Server("bare", pinned(command, SERVER_CPUS), env, port, "/healthz", work / "bare.log")


def bentoml_server(work: Path, model_dir: Path) -> Server:
    """``bentoml serve bench.bentoml_service:OnnxScoring`` (production mode, one worker) from .venv-bench."""
    if not BENCH_VENV_PYTHON.exists():
        raise ServerError("no .venv-bench: `make bench` creates it from the pyproject extra bench-peer")
    port = free_port()
    command = [
        str(BENCH_VENV_PYTHON), "-m", "bentoml", "serve", "bench.bentoml_service:OnnxScoring",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    env = base_env(BENCH_MODEL_DIR=str(model_dir), BENTOML_HOME=str(work / "bentoml-home"))
    env["BENTOML_DO_NOT_TRACK"] = "true"  # no usage-statistics calls from a benchmark
    return Server("bentoml", pinned(command, SERVER_CPUS), env, port, "/readyz", work / "bentoml.log")
