"""The fleet view and the dashboard at 1,000 sites and 1,000,000 insights in SQLite (target: < 200 ms
a request).

Usage: ``.venv/bin/python -m bench.fleet_bench [--sites N] [--insights N] [--statuses N]
[--models N] [--db PATH] [--path PATH ...] [--before-tree DIR]``. ``--before-tree``: an exported
earlier commit (``git archive <commit> | tar -x -C DIR``) whose dashboard and summary are timed
against this tree's over the same store in the same run, alternating (before, after, after,
before; bench/tree_server.py serves it in a child process). The store is built once (about ten minutes on a
loaded machine) and kept under var/bench/ (``--db`` names another file); a later run measures it
again after one fresh heartbeat per reporting site, so the states read as at build time (every
tenth site offline).

Builds the store through the real adapter: the insights over the last two days (so the fleet's
24-hour window holds half of them; about 5 % anomalies, 2 % feedback, the hourly counters kept as
in production; ``--models`` model versions each site serves in turn, a counter row each per hour,
where the fleet's per-site rollup keeps one) and ``--statuses`` heartbeats per site, 30 s apart,
every tenth site silent for an hour (offline). Then serves the global app with uvicorn on
127.0.0.1 and times each fleet route over HTTP, and the fleet use case alone (wall clock, and
its parts in CPU time). Prints the figures; it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn

from bench.tree_server import serving_tree, tree_parts
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.fleet import FleetThresholds
from edgeloop.domain.records import FeedbackRecord, InsightRecord, ModelRef, Record, utc_now
from edgeloop.domain.site_status import SiteStatusRecord
from edgeloop.service_layer.dashboard_view import dashboard
from edgeloop.service_layer.fleet_views import fleet
from global_app.app import create_app
from global_app.auth import OpenAccess
from localdev.azurite import free_port, wait_for_port

HOURS = 48
BATCH = 20_000
TARGET_MS = 200.0
MODEL = ModelRef("failure-risk", "1.1.0", "ab" * 32)


def site_name(number: int) -> str:
    return f"site-{number:04d}"


def generate_insights(store: SqliteInsightStore, insights: int, sites: int, models: int = 1) -> None:
    start = utc_now() - timedelta(hours=HOURS)
    step = HOURS * 3600 / insights
    pending: list[Record] = []
    for i in range(insights):
        at = start + timedelta(seconds=i * step)
        anomaly = (i // sites) % 20 == 0  # 5 % at every site
        batch = f"{i // 100_000:032x}"
        record = InsightRecord(
            insight_id=f"{batch}-{i % 100_000:05d}",
            site_id=site_name(i % sites),
            scored_at=at,
            model=MODEL if models == 1 else ModelRef(MODEL.name, f"1.{i // sites % models}.0", MODEL.sha256),
            inputs={"air_temperature_k": 300.0 + i % 7, "type": "M"},
            outputs={"risk": 0.95 if anomaly else 0.05},
            anomaly=anomaly,
            anomaly_kinds=("risk",) if anomaly else (),
        )
        pending.append(record)
        if i % 50 == 0:
            pending.append(FeedbackRecord(f"{batch}-f{i % 100_000:05d}", record.insight_id, record.site_id,
                                          int(anomaly), at))  # fmt: skip
        if len(pending) >= BATCH:
            store.upsert(pending)
            pending = []
    store.upsert(pending)


def generate_statuses(store: SqliteInsightStore, sites: int, per_site: int) -> None:
    now = utc_now()
    pending: list[SiteStatusRecord] = []
    for site in range(sites):
        last = now - (timedelta(hours=1) if site % 10 == 0 else timedelta(seconds=10))
        for n in range(per_site):
            at = last - timedelta(seconds=30 * n)
            status_id = f"{site:08x}{n:024x}"
            pending.append(SiteStatusRecord(status_id, site_name(site), at, MODEL, outbox_depth=n % 50))
        if len(pending) >= BATCH:
            store.upsert_site_status(pending)
            pending = []
    store.upsert_site_status(pending)


def refresh_heartbeats(store: SqliteInsightStore, sites: int) -> None:
    """One heartbeat now per reporting site (every tenth stays silent: offline), for a kept store."""
    now = utc_now()
    stamp = f"{int(now.timestamp()):016x}"
    fresh = [
        SiteStatusRecord(f"{site:08x}{stamp}ffffffff", site_name(site), now, MODEL, outbox_depth=site % 50)
        for site in range(sites)
        if site % 10
    ]
    store.upsert_site_status(fresh)


def time_get(client: httpx.Client, url: str, repeat: int) -> tuple[float, float, int]:
    client.get(url).raise_for_status()  # warm: template compile, page cache
    timings = []
    size = 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = len(response.content)
    return statistics.median(timings), max(timings), size


def time_use_case(store: SqliteInsightStore, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fleet(store, utc_now(), FleetThresholds(), timedelta(hours=24))
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def cpu_ms(call: Callable[[], object], repeat: int) -> float:
    """The median CPU time of ``call`` (``process_time``: a loaded machine disturbs it far less than
    the wall clock, which waits for the other processes' turns)."""
    call()
    timings = []
    for _ in range(repeat):
        started = time.process_time()
        call()
        timings.append((time.process_time() - started) * 1000)
    return statistics.median(timings)


def time_parts(store: SqliteInsightStore, repeat: int) -> str:
    """The fleet use case and its two reads, in CPU time."""
    start = (utc_now() - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
    statuses = cpu_ms(store.latest_fleet_statuses, repeat)
    totals = cpu_ms(lambda: store.site_totals(start, None), repeat)
    whole = cpu_ms(lambda: fleet(store, utc_now(), FleetThresholds(), timedelta(hours=24)), repeat)
    return f"latest statuses {statuses:.1f} ms, per-site totals {totals:.1f} ms, the use case {whole:.1f} ms"


def build(db: Path, sites: int, insights: int, statuses: int, models: int = 1) -> SqliteInsightStore:
    started = time.perf_counter()
    store = SqliteInsightStore(db)
    generate_insights(store, insights, sites, models)
    generate_statuses(store, sites, statuses)
    print(f"built {insights:,} insights and {sites * statuses:,} statuses at {sites:,} sites "
          f"in {time.perf_counter() - started:.0f} s ({db.stat().st_size / 2**20:.0f} MiB)")  # fmt: skip
    return store


# The dashboard's summary and page over the same store: the baseline, timed in the same run.
BASELINE_PATHS = ("/api/v1/summary", "/")
FLEET_PATHS = (
    "/api/v1/fleet",
    "/fleet",
    "/api/v1/fleet?limit=1000",  # every site on one page: the body of the unpaged version
    "/fleet?page=5",
    "/fleet?state=offline",
    "/api/v1/fleet/site-0001",
    "/fleet/site-0001",
)


@contextmanager
def serving(store: SqliteInsightStore) -> Iterator[str]:
    """This tree's global app over ``store`` on uvicorn in a thread; its base URL."""
    port = free_port()
    app = create_app(store, OpenAccess())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port, timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def measure(store: SqliteInsightStore, repeat: int, paths: list[str]) -> dict[str, tuple[float, float, int]]:
    with serving(store) as url, httpx.Client(base_url=url, timeout=60) as client:
        return {path: time_get(client, path, repeat) for path in paths}


def dashboard_paths(url: str) -> list[str]:
    """The dashboard's pages: the first, the next sites, every insight, one site's, the older anomalies."""
    with httpx.Client(base_url=url, timeout=60) as client:
        cursor = client.get("/api/v1/insights?anomalies_only=true&limit=20").json()["next_cursor"]
    return ["/", "/?sites_after=site-0024", "/?outcome=all", "/?site=site-0001", f"/?cursor={cursor}"]


def dashboard_parts(store: SqliteInsightStore, repeat: int) -> str:
    """The dashboard use case and its two largest reads, in CPU time."""
    totals = cpu_ms(lambda: store.site_totals(None, None), repeat)
    models = cpu_ms(lambda: store.model_stats(None, None), repeat)
    whole = cpu_ms(lambda: dashboard(store, None, None), repeat)
    return f"per-site totals {totals:.1f} ms, per-model totals {models:.1f} ms, the use case {whole:.1f} ms"


def compare_dashboards(store: SqliteInsightStore, db: Path, before: Path, repeat: int) -> None:
    """``GET /``, ``GET /api/v1/summary`` (each also over the last 24 hours) and the models' hours of
    the tree ``before`` and of this one, same store, same run: rounds before, after, after, before;
    each figure the median of its rounds' medians."""
    day = (utc_now() - timedelta(hours=24)).strftime("%Y-%m-%dT%H:00:00Z")
    paths = [*BASELINE_PATHS, f"/api/v1/summary?from={day}", f"/?from={day}", "/api/v1/models/hours"]
    timings: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    with serving_tree(before, db) as before_url, serving(store) as after_url:
        for label in ("before", "after", "after", "before"):
            url = before_url if label == "before" else after_url
            with httpx.Client(base_url=url, timeout=120) as client:
                for path in paths:
                    timings.setdefault((label, path), []).append(time_get(client, path, repeat))
    for label in ("before", "after", "after", "before"):  # the reads in process, in child processes
        tree = before if label == "before" else Path(__file__).resolve().parents[1]
        print(f"{label:6} in process, CPU time (median of {repeat}): {tree_parts(tree, db, repeat)}")
    for path in paths:
        (b, b_size), (a, a_size) = (
            (statistics.median(t[0] for t in timings[label, path]), timings[label, path][0][2])
            for label in ("before", "after")
        )
        shown = path.replace(day, "<24 h ago>")
        print(f"GET {shown:35} before {b:8.1f} ms ({b_size / 1024:,.0f} KiB), after {a:7.1f} ms "
              f"({a_size / 1024:,.0f} KiB): after / before {a / b:.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--insights", type=int, default=1_000_000)
    parser.add_argument("--statuses", type=int, default=20, help="heartbeats per site")
    parser.add_argument("--models", type=int, default=1, help="model versions each site serves in turn")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--db", type=Path, help="the store (default: kept under var/bench/)")
    parser.add_argument("--path", action="append", help=f"a path to time (default: {', '.join(FLEET_PATHS)})")
    parser.add_argument("--before-tree", type=Path, help="an earlier commit's tree (its dashboard, timed)")
    args = parser.parse_args()
    shape = f"{args.sites}x{args.insights}x{args.statuses}" + (f"x{args.models}m" if args.models > 1 else "")
    db: Path = args.db or Path("var/bench") / f"fleet-{shape}.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    if db.exists():  # a store this bench built before; one from before a table is upgraded on open
        started = time.perf_counter()
        store = SqliteInsightStore(db)
        print(f"measuring the kept store {db} (opened in {time.perf_counter() - started:.2f} s), "
              "after one fresh heartbeat per reporting site")  # fmt: skip
        refresh_heartbeats(store, args.sites)
    else:
        store = build(db, args.sites, args.insights, args.statuses, args.models)
    try:
        print(f"fleet use case alone (no HTTP): {time_use_case(store, args.repeat):.1f} ms median")
        print(f"in process, CPU time (median of {3 * args.repeat}): {time_parts(store, 3 * args.repeat)}")
        print(
            f"dashboard in process, CPU time (median of {args.repeat}): {dashboard_parts(store, args.repeat)}"
        )
        with serving(store) as url:
            pages = dashboard_paths(url)
        timings = measure(store, args.repeat, [*(args.path or FLEET_PATHS), *BASELINE_PATHS, *pages[1:]])
        for path, (median, worst, size) in timings.items():
            verdict = "met" if median < TARGET_MS else "missed"
            print(f"GET {path:30} {median:7.1f} ms median, {worst:7.1f} max, {size / 1024:6.0f} KiB "
                  f"(target < {TARGET_MS:.0f} ms: {verdict})")  # fmt: skip
        for fleet_path, baseline in (("/api/v1/fleet", "/api/v1/summary"), ("/fleet", "/")):
            if fleet_path not in timings:
                continue
            ratio = timings[fleet_path][0] / timings[baseline][0]
            print(f"{fleet_path} / {baseline} (the dashboard, same store, same run): {ratio:.2f}")
        if args.before_tree:
            compare_dashboards(store, db, args.before_tree, args.repeat)
    finally:
        store.close()


if __name__ == "__main__":
    main()
