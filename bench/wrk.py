"""Drive an HTTP endpoint with ``wrk`` (C, one thread, keep-alive connections) and read its figures.

POST bodies come from a Lua script that cycles through a list of request bodies,
so every connection sends varied rows. The script's ``done`` hook prints one
JSON line (counts, errors, latency percentiles in microseconds) after wrk's own
report (``--latency``), which is what we parse: no scraping of wrk's units.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKER = "WRK_JSON "

_LUA_TEMPLATE = """
local bodies = {}
local file = io.open(%(bodies)s, "r")
for line in file:lines() do bodies[#bodies + 1] = line end
file:close()
local next_body = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(headers)s
request = function()
  next_body = next_body %% #bodies + 1
  return wrk.format(nil, %(path)s, nil, bodies[next_body])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(marker)s{"requests": %%d, "duration_us": %%d, "bytes": %%d, "non_2xx": %%d, ' ..
    '"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d, ' ..
    '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%f}\\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


class WrkError(RuntimeError):
    """wrk could not run, or the run had errors that make its figures meaningless."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def ok(self) -> bool:
        return self.non_2xx == 0 and self.socket_errors == 0


def wrk_executable() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk is not installed: `make bench` installs it (apt package wrk)")
    return found


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for these characters


def write_script(directory: Path, name: str, path: str, bodies: list[bytes], headers: dict[str, str]) -> Path:
    """A Lua script POSTing ``bodies`` (one JSON document per line) to ``path`` in turn."""
    if any(b"\n" in body for body in bodies):
        raise ValueError("request bodies must be single-line JSON")
    bodies_file = directory / f"{name}.bodies"
    bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
    header_lines = "\n".join(
        f"wrk.headers[{_lua_string(key)}] = {_lua_string(value)}" for key, value in headers.items()
    )
    script = directory / f"{name}.lua"
    script.write_text(
        _LUA_TEMPLATE
        % {
            "bodies": _lua_string(str(bodies_file)),
            "headers": header_lines,
            "path": _lua_string(path),
            "marker": MARKER,
        },
        encoding="utf-8",
    )
    return script


def parse_output(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise WrkError(f"wrk printed no summary:\n{output[-2000:]}")
    return WrkResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        non_2xx=int(data["non_2xx"]),
        socket_errors=int(data["connect"] + data["read"] + data["write"] + data["timeout"]),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def run_wrk(
    base_url: str,
    script: Path,
    *,
    connections: int,
    seconds: float,
    timeout_s: float = 10.0,
    cpus: str | None = None,
) -> WrkResult:
    """One wrk run (one thread, on ``cpus`` when given); raises WrkError if wrk itself failed."""
    command = [
        wrk_executable(),
        "--threads", "1",
        "--connections", str(connections),
        "--duration", f"{max(1, round(seconds))}s",
        "--timeout", f"{timeout_s:g}s",
        "--latency",
        "--script", str(script),
        base_url,
    ]  # fmt: skip
    if cpus:
        command = ["taskset", "-c", cpus, *command]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False
    )
    if completed.returncode != 0:
        raise WrkError(f"wrk exited with {completed.returncode}: {completed.stderr.strip()}")
    return parse_output(completed.stdout)
