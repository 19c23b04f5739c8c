"""Start and stop Azurite, the Azure Storage emulator, as a child process.

Used by ``make run`` (standard ports) and by the tests (free ports, a temp
directory each). Azurite serves the accounts ``edge`` (the site) and ``cloud``
(Azure), whose keys are local development keys, public on purpose like
Azurite's own well-known key (never use them outside Azurite), and those
added with ``add_account`` (a local fleet's sites, keys generated per run).
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeloop.config.development_storage import LOCAL_ACCOUNT_KEYS, connection_string

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s") from None
            time.sleep(0.05)


def azurite_executable() -> str:
    local = REPO_ROOT / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return str(local)
    found = shutil.which("azurite")
    if found is None:
        raise FileNotFoundError("azurite not found: run `npm ci` in the repository root")
    return found


def stop_process_group(process: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """SIGTERM a child started with ``start_new_session=True`` and its group; SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


@dataclass
class Azurite:
    """One Azurite process; ``start`` blocks until all three services listen."""

    location: Path
    host: str = "127.0.0.1"
    blob_port: int = 10000
    queue_port: int = 10001
    table_port: int = 10002
    cpus: str | None = None  # run under ``taskset -c cpus`` (benchmarks keep it off the server's core)
    # False: Azurite refuses an x-ms-version it does not know, as Azure Stack Hub refuses newer
    # ones; the tests of STORAGE_API_VERSION run it so, to see a mismatch at all.
    skip_api_version_check: bool = True
    # The accounts it serves, name -> base64 key: the local ``edge`` and ``cloud`` accounts, plus
    # any added before ``start`` (a local fleet's site accounts, keys generated at run time).
    accounts: dict[str, str] = field(default_factory=lambda: dict(LOCAL_ACCOUNT_KEYS))
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def on_free_ports(
        cls, location: Path, cpus: str | None = None, *, skip_api_version_check: bool = True
    ) -> Azurite:
        blob, queue, table = free_port(), free_port(), free_port()
        return cls(
            location=location,
            blob_port=blob,
            queue_port=queue,
            table_port=table,
            cpus=cpus,
            skip_api_version_check=skip_api_version_check,
        )

    @property
    def debug_log(self) -> Path:
        return self.location / "azurite-debug.log"

    def connection_string(self, account: str) -> str:
        key = self.accounts[account]
        return connection_string(account, self.host, self.blob_port, self.queue_port, self.table_port, key)

    def add_account(self, name: str) -> None:
        """One more account (before ``start``), with a key generated now: it lives as long as the run."""
        self.accounts.setdefault(name, base64.b64encode(secrets.token_bytes(32)).decode())

    def start(self, timeout: float = 30.0) -> None:
        self.location.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["AZURITE_ACCOUNTS"] = ";".join(f"{name}:{key}" for name, key in self.accounts.items())
        command = [
            azurite_executable(),
            "--silent",
            # --debug: the request log (each request's headers, x-ms-version too) the API-version tests read.
            *([] if self.skip_api_version_check else ["--debug", str(self.debug_log)]),
            # No usage telemetry: it phones home, and flushing it on SIGTERM holds stop() ~10 s.
            "--disableTelemetry",
            *(["--skipApiVersionCheck"] if self.skip_api_version_check else []),
            "--disableProductStyleUrl",
            "--location", str(self.location),
            "--blobHost", self.host, "--blobPort", str(self.blob_port),
            "--queueHost", self.host, "--queuePort", str(self.queue_port),
            "--tableHost", self.host, "--tablePort", str(self.table_port),
        ]  # fmt: skip
        if self.cpus:
            command = ["taskset", "-c", self.cpus, *command]
        log = (self.location / "azurite.log").open("ab")
        # A process group of its own: Ctrl-C in `make run` is forwarded by us, in order.
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
        log.close()
        for port in (self.blob_port, self.queue_port, self.table_port):
            wait_for_port(self.host, port, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            stop_process_group(self.process, timeout)

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
