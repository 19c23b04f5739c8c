"""Two checkouts' scoring apps in one run: ``python -m bench.trees --before PATH``, after / before.

The tree this module is in is "after"; ``--before`` is another checkout of the
repository with its own ``.venv`` and demo model (``make install model`` there).
Each side is that tree's ``python -m scoring_app`` (relay on, its own outbox and
queue on one Azurite), started by this one harness with the same settings and
pinning, and measured in interleaved slices (bench/measure.py) on the demo
model's binary path:

- single row: ``POST /api/v1/score``, one row a request, 32 connections;
- batch: the same route, 1,000-row requests, 8 connections, the relay's catching
  up after each slice counted as time (as figure 1 counts it);
- form: ``POST /form/score`` (the browser form: a session cookie, its CSRF token,
  one row url-encoded; the answer is the page with the recent scorings), 8 connections.

Every side's outbox is drained after each of its slices, whatever the group, so
no side's backlog lands on another's slice. ``--also-old-model`` adds a third side:
this tree's code serving the before tree's model bundle, which tells a change in
the code from a change in the model. A ratio is after's rate over before's; the
range is over adjacent slices. ``--reverse`` measures the sides in the other order.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from rich.console import Console
from rich.progress import Progress

from bench import servers
from bench.measure import API_KEY, LOAD_CPUS, Bench, Contender, Drain, Settings
from bench.rows import REPO_ROOT, demo_rows
from bench.serving_figures import BATCH_CONNECTIONS, BATCH_ROWS, SINGLE_CONNECTIONS
from bench.wrk import WrkResult, write_script
from localdev.azurite import Azurite

FORM_CONNECTIONS = 8
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSION_COOKIE = "edgeloop_form"  # scoring_app.auth's cookie name (the same in every tree measured)
OFF = "-off"  # the key suffix of a relay-off server


@dataclass(frozen=True)
class Side:
    key: str
    label: str
    tree: Path
    model_dir: Path


def sides(before: Path, also_old_model: bool) -> list[Side]:
    found = [
        Side("before", f"before ({before.name})", before, before / "var" / "models" / "demo"),
        Side("after", "after (this tree)", REPO_ROOT, REPO_ROOT / "var" / "models" / "demo"),
    ]
    if also_old_model:
        found.append(Side("after-old-model", "after, before's model", REPO_ROOT, found[0].model_dir))
    return found


def form_bodies(server: servers.Server, count: int) -> tuple[list[bytes], dict[str, str]]:
    """Url-encoded form posts of ``count`` demo rows, and the headers of the session they belong to."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        page = client.get("/")
    found = _CSRF.search(page.text)
    cookie = page.cookies.get(SESSION_COOKIE)
    if page.status_code != 200 or found is None or cookie is None:
        raise servers.ServerError(f"{server.name}: no form session from GET / ({page.status_code})")
    bodies = [
        urlencode({"csrf_token": found.group(1), **{k: str(v) for k, v in row.items()}}).encode()
        for row in demo_rows(count)
    ]
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"{SESSION_COOKIE}={cookie}",
    }
    return bodies, headers


def contenders(
    bench: Bench, started: dict[str, servers.Server], groups: list[str]
) -> dict[str, list[Contender]]:
    """Per group, one contender per server, in the servers' order (a relay-off server: batch only)."""
    single = bench.script("trees-single", "/api/v1/score", bench.single, key=True)
    batch = bench.script("trees-batch", "/api/v1/score", bench.batch, key=True)
    lineups: dict[str, list[Contender]] = {group: [] for group in groups}
    for key, server in started.items():
        if key.endswith(OFF):  # its outbox never drains: as figure 1's relay-off side
            if "batch" in lineups:
                lineups["batch"].append(
                    Contender(f"batch:{key}", key, server, batch, BATCH_CONNECTIONS, BATCH_ROWS)
                )
            continue

        def drain(server: servers.Server = server) -> Drain:
            return bench.drain(server)

        if "single" in lineups:
            lineups["single"].append(
                Contender(f"single:{key}", key, server, single, SINGLE_CONNECTIONS, after=drain)
            )
        if "batch" in lineups:
            lineups["batch"].append(
                Contender(f"batch:{key}", key, server, batch, BATCH_CONNECTIONS, BATCH_ROWS, after=drain)
            )
        if "form" in lineups:
            bodies, headers = form_bodies(server, 512)
            form = write_script(bench.work, f"trees-form-{key}", "/form/score", bodies, headers)
            lineups["form"].append(Contender(f"form:{key}", key, server, form, FORM_CONNECTIONS, after=drain))
    return lineups


def slice_rates(runs: dict[str, list[Any]], key: str, rows: int) -> list[float]:
    """Per slice: requests (rows) over the slice's seconds plus the relay's CPU after it, if drained."""
    results: list[WrkResult] = runs[key]
    drains: list[Drain] = runs.get(key + ":after", [Drain(0.0, 0.0)] * len(results))
    return [r.requests * rows / (r.seconds + d.cpu_seconds) for r, d in zip(results, drains, strict=True)]


def _ratio(
    runs: dict[str, list[Any]], top: str, bottom: str, rows: int, out: dict[str, Any]
) -> dict[str, Any]:
    """``top``'s rate over ``bottom``'s (server keys in ``out``), and the range over adjacent slices."""
    tops, bottoms = (slice_rates(runs, key, rows) for key in (top, bottom))
    ratios = [a / b for a, b in zip(tops, bottoms, strict=True)]
    ratio = out[top.partition(":")[2]]["rate"] / out[bottom.partition(":")[2]]["rate"]
    return {"ratio": ratio, "slices": [round(min(ratios), 3), round(max(ratios), 3)]}


def summary(runs: dict[str, list[Any]], group: str, lineup: list[Contender]) -> dict[str, Any]:
    """Each server's rate, p99 and errors; ratios to before (same relay setting) and relay on / off."""
    rows = BATCH_ROWS if group == "batch" else 1
    keys = [contender.label for contender in lineup]  # the servers' keys
    out: dict[str, Any] = {}
    for key in keys:
        results: list[WrkResult] = runs[f"{group}:{key}"]
        out[key] = {
            "rate": sum(r.requests for r in results) * rows / sum_seconds(runs, f"{group}:{key}"),
            "p99_ms": statistics.median(r.p99_ms for r in results),
            "errors": sum(r.non_2xx + r.socket_errors for r in results),
        }
    for key in keys:
        base = "before" + OFF if key.endswith(OFF) else "before"
        if key != base and base in out:
            out[key]["to_before"] = _ratio(runs, f"{group}:{key}", f"{group}:{base}", rows, out)
        if key + OFF in out:
            out[key]["on_off"] = _ratio(runs, f"{group}:{key}", f"{group}:{key}{OFF}", rows, out)
    return out


def sum_seconds(runs: dict[str, list[Any]], key: str) -> float:
    """A contender's measured seconds, with the relay's catching-up CPU after each slice if drained."""
    results: list[WrkResult] = runs[key]
    drains: list[Drain] = runs.get(key + ":after", [])
    return sum(r.seconds for r in results) + sum(d.cpu_seconds for d in drains)


def measure(bench: Bench, measured: list[Side], groups: list[str], relay_off: bool) -> dict[str, Any]:
    azurite = Azurite.on_free_ports(bench.work / "azurite", cpus=LOAD_CPUS)
    started: dict[str, servers.Server] = {}
    try:
        azurite.start()
        edge = azurite.connection_string("edge")
        for side in measured:
            for relay in (True, False) if relay_off else (True,):
                key = side.key if relay else side.key + OFF
                app = servers.scoring_app
                server = app(
                    bench.work,
                    key,
                    side.model_dir,
                    API_KEY,
                    edge,
                    f"trees-{key}",
                    relay=relay,
                    tree=side.tree,
                )
                bench.step(f"starting {side.label}{'' if relay else ', relay off'}")
                started[key] = server.start()
        lineups = contenders(bench, started, groups)
        return {
            group: summary(bench.interleave(group, lineup), group, lineup)
            for group, lineup in lineups.items()
        }
    finally:
        for server in started.values():
            server.stop()
        azurite.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trees", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--before", type=Path, required=True, help="the other checkout (its .venv, its model)"
    )
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per side and group")
    parser.add_argument("--slice", type=float, default=2, help="seconds per interleaved slice")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds per side and group")
    parser.add_argument("--also-old-model", action="store_true", help="this code on before's model too")
    parser.add_argument("--reverse", action="store_true", help="measure the sides in the other order")
    parser.add_argument("--relay-off", action="store_true", help="a relay-off server per side, batch only")
    parser.add_argument("--groups", default="single,batch,form", help="comma list of: single, batch, form")
    args = parser.parse_args(argv)
    measured = sides(args.before.resolve(), args.also_old_model)
    if args.reverse:
        measured.reverse()
    settings = Settings(args.seconds, args.slice, args.warmup, 0, 0, 0, frozenset(), REPO_ROOT)
    groups = [group.strip() for group in args.groups.split(",") if group.strip()]
    console = Console()
    with tempfile.TemporaryDirectory(prefix="edgeloop-trees-") as tmp, Progress(console=console) as progress:
        bench = Bench(settings, Path(tmp), progress)
        figures = measure(bench, measured, groups, args.relay_off)
    for group, by_server in figures.items():
        for key, figure in by_server.items():
            console.print(f"{group:6} {key:20} " + _line(figure, "rows/s" if group == "batch" else "req/s"))
    sys.stdout.write(orjson.dumps(figures).decode() + "\n")
    return 0


def _line(figure: dict[str, Any], unit: str) -> str:
    text = f"{figure['rate']:>10,.0f} {unit}, p99 {figure['p99_ms']:.1f} ms, {figure['errors']} errors"
    for name, label in (("to_before", "/ before"), ("on_off", "relay on / off")):
        if name in figure:
            low, high = figure[name]["slices"]
            text += f"; {label} {figure[name]['ratio']:.3f} (slices {low:.2f}-{high:.2f})"
    return text


if __name__ == "__main__":
    sys.exit(main())
