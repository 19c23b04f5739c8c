"""Global app page load times at 10 sites and 1,000,000 insights in SQLite.

Usage: ``.venv/bin/python -m bench.global_app_bench [--insights N] [--sites N] [--db PATH]``

Builds the store through the real adapter (``SqliteInsightStore.upsert`` in
batches: executemany under the hood, hourly counters maintained as in
production), 30 days of history, about 5 % anomalies and 2 % feedback, then
serves the app with uvicorn on 127.0.0.1 and times each page over HTTP
(and, when Chromium is installed, the dashboard's full load in a browser).
Prints the figures; it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import FeedbackRecord, InsightRecord, ModelRef, Record
from global_app.app import create_app
from global_app.auth import OpenAccess
from localdev.azurite import free_port, wait_for_port

START = datetime(2024, 4, 1, tzinfo=UTC)
DAYS = 30
BATCH = 20_000
CHROMIUM = Path("/usr/bin/chromium")


def generate(store: SqliteInsightStore, insights: int, sites: int) -> None:
    models = [ModelRef("failure-risk", v, "ab" * 32) for v in ("1.0.0", "1.1.0")]
    step = DAYS * 86400 / insights
    batch_id = "%032x"
    pending: list[Record] = []
    for i in range(insights):
        at = START + timedelta(seconds=i * step)
        anomaly = (i // sites) % 20 == 0  # 5 % at every site
        record = InsightRecord(
            insight_id=f"{batch_id % (i // 100_000)}-{i % 100_000:05d}",
            site_id=f"site-{i % sites:02d}",
            scored_at=at,
            model=models[0] if at < START + timedelta(days=DAYS // 2) else models[i % 2],
            inputs={"air_temperature_k": 300.0 + i % 7, "type": "M"},
            outputs={"risk": 0.95 if anomaly else 0.05},
            anomaly=anomaly,
            anomaly_kinds=("risk",) if anomaly else (),
        )
        pending.append(record)
        if i % 50 == 0:
            pending.append(FeedbackRecord(f"{batch_id % (i // 100_000)}-f{i % 100_000:05d}",
                                          record.insight_id, record.site_id, int(anomaly), at))  # fmt: skip
        if len(pending) >= BATCH:
            store.upsert(pending)
            pending = []
    store.upsert(pending)


def time_get(client: httpx.Client, url: str, repeat: int) -> tuple[float, float, int]:
    client.get(url)  # warm: first-request costs (template compile, page cache) are not the steady state
    timings = []
    size = 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = len(response.content)
    return statistics.median(timings), max(timings), size


def browser_load_ms(url: str, repeat: int) -> float | None:
    if not CHROMIUM.exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.goto(url)
        timings = []
        for _ in range(repeat):
            page.goto(url, wait_until="load")
            timings.append(page.evaluate("performance.getEntriesByType('navigation')[0].duration"))
        browser.close()
    return float(statistics.median(timings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--insights", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db", type=Path, help="reuse or create this SQLite file (default: a temp dir)")
    args = parser.parse_args()

    db = args.db or Path(tempfile.mkdtemp(prefix="global-bench-")) / "global.sqlite3"
    store = SqliteInsightStore(db)
    if not store.site_stats(None, None):
        started = time.perf_counter()
        generate(store, args.insights, args.sites)
        took = time.perf_counter() - started
        print(f"generated {args.insights:,} insights for {args.sites} sites in {took:.1f} s")
    total = sum(s.counts.scored for s in store.site_stats(None, None))
    print(f"store: {db} ({db.stat().st_size / 1e6:.0f} MB), {total:,} insights")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store, OpenAccess()), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port("127.0.0.1", port, timeout=30)
    base = f"http://127.0.0.1:{port}"
    week = "from=2024-04-20T00:00:00Z&to=2024-04-27T00:00:00Z"
    pages = {
        "GET / (dashboard, all time)": "/",
        "GET / (dashboard, one week)": f"/?{week}",
        "GET /api/v1/summary": "/api/v1/summary",
        "GET /api/v1/summary (one week)": f"/api/v1/summary?{week}",
        "GET /api/v1/insights?limit=100": "/api/v1/insights?limit=100",
        "GET /api/v1/insights (site, anomalies, week)": (
            f"/api/v1/insights?site=site-03&anomalies_only=true&limit=100&{week}"
        ),
    }
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            print(f"{'page':48} {'median ms':>10} {'max ms':>8} {'bytes':>9}")
            for name, path in pages.items():
                median, worst, size = time_get(client, path, args.repeat)
                print(f"{name:48} {median:10.1f} {worst:8.1f} {size:9,}")
            # Deep paging: the 50th page of 100 through the cursor.
            cursor, started = None, time.perf_counter()
            for _ in range(50):
                body = client.get(
                    "/api/v1/insights", params={"limit": 100, **({"cursor": cursor} if cursor else {})}
                )
                cursor = body.json()["next_cursor"]
            print(
                f"{'50 cursor pages of 100 (mean per page)':48} {(time.perf_counter() - started) * 20:10.1f}"
            )
        loaded = browser_load_ms(base + "/", 5)
        if loaded is not None:
            print(f"{'chromium: dashboard navigation to load event':48} {loaded:10.1f}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


if __name__ == "__main__":
    main()
