"""The naive edge-to-cloud pipeline the end-to-end figure is compared with: one message, one blob, per record.

``produce``: score each reading alone (one ``InferenceSession.run`` per row) and
send its insight record as one Storage Queue message. ``consume``: receive
messages (32 per call, the most the service allows), validate each record and
apply the same compliance policy, write one blob per compliant record to the
cloud account, delete the message. Both run with a few threads each, in a
process each (like the scoring app and the Functions host), on the same Azurite.
Kinder to the naive side than to ours: no HTTP in front of the producer, and
no events published per blob.

Run (the benchmark does): ``python -m bench.naive_pipeline produce|consume --help``.
Both print "ready" once loaded. The consumer then runs until SIGTERM or
``--max-seconds``; the producer waits for a line on stdin, then sends ``--count``
records and ends (so start-up is never timed).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import signal
import sys
import threading
import uuid
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContentSettings
from azure.storage.queue import QueueClient

from bench.rows import demo_rows
from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.domain.compliance import PolicyEngine
from edgeloop.domain.records import RecordError, format_timestamp, record_from_wire, utc_now
from edgeloop.domain.site_status import SiteStatusRecord

REPO_ROOT = Path(__file__).resolve().parents[1]
NUMERIC = ("air_temperature_k", "process_temperature_k", "rotational_speed_rpm", "torque_nm", "tool_wear_min")


def _session(model_dir: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        str(model_dir / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
    )


def insight_record(
    session: ort.InferenceSession, manifest: dict[str, Any], row: dict[str, Any], site: str
) -> dict[str, Any]:
    numeric = np.array([[row[name] for name in NUMERIC]], dtype=np.float32)
    probability, ood = session.run(
        None, {"type": np.array([[row["type"]]], dtype=object), "numeric": numeric}
    )
    risk = float(probability[0])
    threshold = manifest.get("task", manifest)["threshold"]  # format 2 in the task, format 1 at the top
    return {
        "kind": "insight",
        "schema_version": 1,
        "insight_id": f"{uuid.uuid4().hex}-00000",
        "site_id": site,
        "scored_at": format_timestamp(utc_now()),
        "model": {
            "name": manifest["name"],
            "version": manifest["version"],
            "sha256": manifest["files"]["model.onnx"],
        },
        "inputs": {"type": row["type"], **{name: row[name] for name in NUMERIC}},
        "outputs": {"failure_probability": risk, "ood_score": float(ood[0])},
        "anomaly": risk >= threshold,
        "anomaly_kinds": ["high_risk"] if risk >= threshold else [],
        "context": {"product_id": row["product_id"]},
    }


def produce(args: argparse.Namespace, stop: threading.Event) -> None:
    session = _session(args.model_dir)
    manifest = orjson.loads((args.model_dir / "manifest.json").read_bytes())
    rows = demo_rows()
    queue = QueueClient.from_connection_string(args.edge, args.queue)
    numbers = itertools.count()  # shared by the threads: next(count) is atomic under the GIL
    _ready_then_wait_for_go()

    def worker(_: int) -> None:
        while not stop.is_set() and (index := next(numbers)) < args.count:
            record = insight_record(session, manifest, rows[index % len(rows)], args.site)
            queue.send_message(orjson.dumps(record).decode())

    _run_threads(worker, args.threads, stop)


def _ready_then_wait_for_go() -> None:
    """Tell the benchmark we are loaded ("ready"), start when it says "go": imports are not timed."""
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()


def consume(args: argparse.Namespace, stop: threading.Event) -> None:
    engine = PolicyEngine(load_compliance_policy(args.policy), args.hmac_key.encode())
    queue = QueueClient.from_connection_string(args.edge, args.queue)
    container = BlobServiceClient.from_connection_string(args.cloud).get_container_client(args.container)
    settings = ContentSettings(content_type="application/json")
    sys.stdout.write("ready\n")
    sys.stdout.flush()

    def worker(_: int) -> None:
        while not stop.is_set():
            for message in queue.receive_messages(
                messages_per_page=32, max_messages=32, visibility_timeout=60
            ):
                try:
                    record = record_from_wire(orjson.loads(message.content))
                except RecordError:
                    queue.delete_message(message)  # invalid: dropped (none are produced here)
                    continue
                decision = engine.decide(record.to_wire())
                if decision.record is not None:
                    key = record.status_id if isinstance(record, SiteStatusRecord) else record.insight_id
                    name = f"site={record.site_id}/{key}.json"
                    container.upload_blob(
                        name, orjson.dumps(decision.record), overwrite=True, content_settings=settings
                    )
                queue.delete_message(message)
            stop.wait(0.01)  # an empty queue: look again shortly

    _run_threads(worker, args.threads, stop)


def _run_threads(worker: Any, count: int, stop: threading.Event) -> None:
    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.naive_pipeline", description=__doc__.splitlines()[0]
    )
    parser.add_argument("role", choices=("produce", "consume"))
    parser.add_argument("--edge", required=True, help="edge storage connection string (the queue)")
    parser.add_argument("--cloud", help="cloud storage connection string (the blobs; consume)")
    parser.add_argument("--queue", required=True)
    parser.add_argument("--container", default="naive-compliant")
    parser.add_argument("--site", default="bench-naive")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--model-dir", type=Path, default=REPO_ROOT / "var" / "models" / "demo")
    parser.add_argument("--policy", type=Path, default=REPO_ROOT / "policies" / "compliance.yaml")
    parser.add_argument("--hmac-key", default="bench-site-key-not-a-secret-0123")
    parser.add_argument("--count", type=int, default=1000, help="records to produce (produce)")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args(argv)
    if args.role == "consume" and not args.cloud:
        parser.error("consume needs --cloud")

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    deadline = threading.Timer(args.max_seconds, stop.set)
    deadline.daemon = True
    deadline.start()
    with contextlib.suppress(ResourceExistsError):
        QueueClient.from_connection_string(args.edge, args.queue).create_queue()
    if args.role == "consume":
        with contextlib.suppress(ResourceExistsError):
            BlobServiceClient.from_connection_string(args.cloud).create_container(args.container)
        consume(args, stop)
    else:
        produce(args, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
