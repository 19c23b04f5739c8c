"""Micro-benchmark of the edge compliance filter: microseconds per typical demo insight record.

``python -m bench.compliance_bench [--records N] [--rounds R]``. Records are the
demo data's rows as the scoring app writes them (six inputs, two outputs, a
product id), packed as the relay packs them. Measured in one process, best of R
interleaved rounds (noise from the shared machine hits every side alike):

- ``decide``: ``PolicyEngine.decide`` per record, against the engine as first
  written (tests/support/compliance_reference.py, the tests' oracle): new/old.
- ``filter``: ``InsightFilter.process_message`` per record (unpack, validate,
  decide, audit, partition, gzipped JSON Lines), with in-memory blob stores and
  publisher (no I/O: this is the CPU the Functions host spends per record), with
  the new engine and with the old one plugged in.
- stages of the filter on their own: validation, partitioning, blob bytes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson

from bench.report import Figure
from bench.rows import REPO_ROOT, demo_rows
from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.domain.compliance import PolicyEngine
from edgeloop.domain.records import InsightRecord, ModelRef, record_from_wire
from edgeloop.ports import BlobWrittenEvent
from edgeloop.service_layer.filtering import InsightFilter
from edgeloop.wire.packing import pack_items
from edgeloop.wire.storage_layout import jsonl_gz, partition_of

HMAC_KEY = b"bench-site-key-not-a-secret-0123"  # a local benchmark key, not a secret
TARGET_DECIDE_US = 20.0


class MemoryBlobs:
    """Keeps the last blob per name: the filter's writes without the network."""

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}

    def put(
        self, container: str, name: str, data: bytes, *, content_type: str, overwrite: bool = True
    ) -> str:
        self.blobs[(container, name)] = data
        return f"memory://{container}/{name}"

    def get(self, container: str, name: str) -> bytes:
        return self.blobs[(container, name)]


class MemoryPublisher:
    def publish(self, events: Sequence[BlobWrittenEvent]) -> None:
        self.last = list(events)


def reference_engine_class() -> Any:
    """The old engine, loaded from its file (tests/ is not a package)."""
    path = REPO_ROOT / "tests" / "support" / "compliance_reference.py"
    spec = importlib.util.spec_from_file_location("compliance_reference", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.ReferencePolicyEngine


def demo_records(count: int) -> list[dict[str, Any]]:
    """Wire insights of the demo rows: one site, one model, a record every 10 ms, 1 in 20 anomalous."""
    model = ModelRef("ai4i-failure", "1.0.0", "ab" * 32)
    start = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    records = []
    for index, row in enumerate(demo_rows(count)):
        anomaly = index % 20 == 0
        inputs = {k: v for k, v in row.items() if k != "product_id"}
        records.append(
            InsightRecord(
                insight_id=f"{'b' * 32}-{index % 100000:05d}",
                site_id="site-bench",
                scored_at=start + timedelta(milliseconds=10 * index),
                model=model,
                inputs=inputs,
                outputs={"failure_probability": 0.9 if anomaly else 0.02, "ood_score": 0.31},
                anomaly=anomaly,
                anomaly_kinds=("high_risk",) if anomaly else (),
                context={"product_id": row["product_id"]},
            ).to_wire()
        )
    return records


def best_of(rounds: int, runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Seconds per run of each, the best of ``rounds``, the runs interleaved within each round."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def measure(records: int = 2000, rounds: int = 7) -> dict[str, float]:
    """Microseconds per record of each stage; ``decide_ratio`` and ``filter_ratio`` are new/old."""
    policy = load_compliance_policy(REPO_ROOT / "policies" / "compliance.yaml")
    new, old = PolicyEngine(policy, HMAC_KEY), reference_engine_class()(policy, HMAC_KEY)
    wire = demo_records(records)
    bodies = [body for body, _ in pack_items([orjson.dumps(r) for r in wire])]

    def run_filter(engine: PolicyEngine) -> Callable[[], object]:
        use_case = InsightFilter(engine, MemoryBlobs(), MemoryBlobs(), MemoryPublisher())
        return lambda: [use_case.process_message(body) for body in bodies]

    filtered = [d.record for d in map(new.decide, wire) if d.record is not None]
    seconds = best_of(
        rounds,
        {
            "decide_new": lambda: list(map(new.decide, wire)),
            "decide_old": lambda: list(map(old.decide, wire)),
            "filter_new": run_filter(new),
            "filter_old": run_filter(cast(PolicyEngine, old)),
            "validate": lambda: [record_from_wire(r).to_wire() for r in wire],
            "partition": lambda: list(map(partition_of, filtered)),
            "blob_bytes": lambda: jsonl_gz(filtered),
        },
    )
    micros = {name: s / records * 1e6 for name, s in seconds.items()}
    micros["decide_ratio"] = micros["decide_new"] / micros["decide_old"]
    micros["filter_ratio"] = micros["filter_new"] / micros["filter_old"]
    return micros


def figures(micros: dict[str, float]) -> list[Figure]:
    """For ``python -m bench``: the engine's cost per record against its target, and the filter's."""
    return [
        Figure(
            "compliance_decide",
            "8. compliance decide per record",
            micros["decide_new"],
            "us",
            f"<= {TARGET_DECIDE_US:.0f}",
            f"PolicyEngine.decide on demo insights: {micros['decide_new']:.1f} us vs the first engine's "
            f"{micros['decide_old']:.1f} us (new/old {micros['decide_ratio']:.3f})",
        ),
        Figure(
            "compliance_filter",
            "8. filter_insights CPU per record",
            micros["filter_new"],
            "us",
            "",
            f"process_message without I/O: {micros['filter_new']:.1f} us per record "
            f"({micros['filter_old']:.1f} us with the first engine; new/old {micros['filter_ratio']:.3f})",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.compliance_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--records", type=int, default=2000, help="demo insight records per run")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the best counts")
    args = parser.parse_args(argv)
    micros = measure(args.records, args.rounds)
    for name, value in micros.items():
        unit = "(new/old)" if name.endswith("_ratio") else "us per record"
        print(f"{name:>14}: {value:9.3f} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
