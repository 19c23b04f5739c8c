"""The cloud's vision counters: their cost at ingest, and the vision view's reads, on SQLite.

Usage: ``.venv/bin/python -m bench.vision_cloud_bench [--insights N] [--sites N] [--cameras N]``.

1. Ingest cost, a ratio in one run: the same number of insights upserted in batches of 1,000
   (as ingest writes a blob's records) into two fresh stores through the real adapter, once as a
   tabular model's (hourly counters only) and once as an image model's from cameras (hourly and
   vision counters); the figure is image time / tabular time.
2. Reads: the vision use case (every site over the last 24 hours, and one site), and
   ``GET /api/v1/vision`` and ``GET /vision/{site}`` in process, median of 15 each, over the image
   store (``--sites`` x ``--cameras`` cameras, 48 hours of frames).

Prints the figures; it is a benchmark, not a test. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

from fastapi.testclient import TestClient

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import InsightRecord, ModelRef, utc_now
from edgeloop.service_layer.vision_views import vision
from global_app.app import create_app
from global_app.auth import OpenAccess

HOURS = 48
BATCH = 1_000
TABULAR = ModelRef("failure-mode", "1.0.0", "ab" * 32, "multiclass")
IMAGE = ModelRef("surface-defects", "1.0.0", "cd" * 32, "multiclass")


def records(count: int, sites: int, cameras: int, image: bool) -> list[InsightRecord]:
    start = utc_now() - timedelta(hours=HOURS)
    step = HOURS * 3600 / count
    made = []
    for i in range(count):
        defect = i % 23 == 0
        context = {"source": "camera", "camera_id": f"cam-{i // sites % cameras}"} if image else {}
        made.append(
            InsightRecord(
                insight_id=f"{i // 100_000:032x}-{i % 100_000:05d}",
                site_id=f"site-{i % sites:03d}",
                scored_at=start + timedelta(seconds=i * step),
                model=IMAGE if image else TABULAR,
                inputs={} if image else {"torque_nm": 40.0 + i % 9},
                outputs={"p_ok": 0.2 if defect else 0.9, "p_scratch": 0.8 if defect else 0.1},
                anomaly=defect,
                anomaly_kinds=("alert_class",) if defect else (),
                context=context,
                prediction="scratch" if defect else "ok",
            )
        )
    return made


def ingest_seconds(store: SqliteInsightStore, batch: list[InsightRecord]) -> float:
    began = time.perf_counter()
    for start in range(0, len(batch), BATCH):
        store.upsert(batch[start : start + BATCH])
    return time.perf_counter() - began


def median_ms(call: Callable[[], object], runs: int = 15) -> str:
    """Median wall and CPU milliseconds of ``call`` (CPU: the process's, fair on a shared machine)."""
    call()  # warm
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return f"{statistics.median(walls):.1f} ms wall, {statistics.median(cpus):.1f} ms CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--insights", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--cameras", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tabular = SqliteInsightStore(Path(folder) / "tabular.sqlite3")
        images = SqliteInsightStore(Path(folder) / "images.sqlite3")
        cpu = time.process_time()
        tabular_s = ingest_seconds(tabular, records(args.insights, args.sites, args.cameras, image=False))
        tabular_cpu, cpu = time.process_time() - cpu, time.process_time()
        image_s = ingest_seconds(images, records(args.insights, args.sites, args.cameras, image=True))
        image_cpu = time.process_time() - cpu
        print(f"ingest {args.insights:,} insights: tabular {tabular_s:.1f} s, image {image_s:.1f} s, "
              f"ratio {image_s / tabular_s:.2f} (CPU: {image_cpu / tabular_cpu:.2f})")  # fmt: skip
        now = utc_now()
        for label, site in (("every site", None), ("one site", "site-007")):
            took = median_ms(partial(vision, images, now, None, None, site))
            print(f"vision use case, {label}, 24 h: {took}")
        with TestClient(create_app(images, OpenAccess())) as client:
            for path in ("/api/v1/vision", "/api/v1/vision?site=site-007", "/vision", "/vision/site-007"):
                print(f"GET {path}: {median_ms(partial(client.get, path))}")
        tabular.close()
        images.close()


if __name__ == "__main__":
    main()
