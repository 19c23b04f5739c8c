"""The whole path, as `make run` starts it: scoring app -> outbox -> edge queue -> filter_insights ->
cloud blobs + events -> ingest_insights (global store, global app) and feed_powerbi (local sink).

Real processes on a real Azurite (tests/support/local_system.py). Counts are checked exactly,
after injected redelivery (copies of processed events on both subscriptions and of a packed
message on the edge queue: nothing changes) and poison events (a missing and a corrupt blob:
dead-lettered after EDGELOOP_SERVICEBUS_MAX_DELIVERY_COUNT attempts while scoring flows on).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import BinaryBase64EncodePolicy, QueueClient, QueueServiceClient
from support.bundles import valid_rows
from support.local_system import SystemUnderTest, running_system

from edgeloop.adapters.queue_publisher import QueueEventPublisher
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.bootstrap.lake import build_lake_table
from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.config.lake import LakeSettings
from edgeloop.domain.compliance import PolicyEngine
from edgeloop.domain.manifest import load_manifest
from edgeloop.domain.powerbi_schema import FEEDBACK_TABLE, INSIGHTS_TABLE, VALUES_TABLE
from edgeloop.ports import BlobWrittenEvent
from edgeloop.service_layer.filtering import event_message_id, message_digest
from edgeloop.wire.messaging import TOPIC_SUBSCRIPTIONS
from edgeloop.wire.packing import pack_items
from localdev.azurite import REPO_ROOT

pytestmark = pytest.mark.slow

SITE = "site-e2e"
MAX_DELIVERY = 2
EDGE, CLOUD = "edge functions", "cloud functions"
ARRIVAL_TIMEOUT = 60.0
CLOUD_FUNCTIONS = ("ingest_insights", "feed_powerbi", "feed_lake")
PUBLISHED = re.compile(r"edgeloop\.service_layer\.filtering: message \w+: .*, (\d+) blobs$", re.MULTILINE)
# A reading the demo model scores far above its threshold (see tests/browser/test_scoring_form.py).
HIGH_RISK = {
    "type": "L",
    "air_temperature_k": 298.1,
    "process_temperature_k": 308.6,
    "rotational_speed_rpm": 1300,
    "torque_nm": 72.8,
    "tool_wear_min": 240,
}
MARKER = uuid.uuid4().hex[:12]  # makes the on-site values unique, so a scan cannot match by chance
OPERATOR = f"Operator Quinn {MARKER}"
NOTES = f"left bearing squeals {MARKER}"


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, demo_bundle_dir: Path
) -> Iterator[SystemUnderTest]:
    with running_system(
        tmp_path_factory.mktemp("e2e") / "var",
        request,
        SCORING_MODEL_DIR=str(demo_bundle_dir),
        EDGELOOP_SITE_ID=SITE,
        EDGELOOP_SERVICEBUS_MAX_DELIVERY_COUNT=str(MAX_DELIVERY),
    ) as running:
        yield running


def readings(bundle: Path, count: int, seed: int, offset: int) -> list[dict[str, Any]]:
    """Valid rows, every 10th a high-risk one; all with a product id, every 3rd with operator and notes."""
    rows = valid_rows(load_manifest(bundle), count, seed=seed)
    for index, row in enumerate(rows):
        number = offset + index
        if number % 10 == 0:
            row.update(HIGH_RISK)
        row["product_id"] = f"P{MARKER}-{number}"
        if number % 3 == 0:
            row |= {"operator": OPERATOR, "notes": NOTES}
    return rows


class Expected:
    """What was accepted at the edge: the global store and the sink must hold exactly this."""

    def __init__(self, values_per_insight: int) -> None:
        self.values_per_insight = values_per_insight  # Power BI value rows: inputs, outputs, product id
        self.anomaly: dict[str, bool] = {}  # insight id -> the edge's anomaly flag
        self.product: dict[str, str] = {}  # insight id -> raw product id
        self.labels: dict[str, int] = {}  # insight id -> feedback label
        self.feedback_ids: set[str] = set()

    def scored(self, system: SystemUnderTest, rows: list[dict[str, Any]]) -> list[str]:
        results = system.score(rows)
        ids = [r["insight_id"] for r in results]
        self.anomaly |= {r["insight_id"]: bool(r["anomaly"]) for r in results}
        self.product |= {i: row["product_id"] for i, row in zip(ids, rows, strict=True)}
        return ids

    def arrived(self, system: SystemUnderTest) -> bool:
        overall = system.summary()["overall"]
        sink = system.powerbi_sink
        return (
            overall["scored"] == len(self.anomaly)
            and overall["feedback"] == len(self.labels)
            and len(sink.read_rows(INSIGHTS_TABLE)) >= len(self.anomaly)
            # Value rows are pushed after a blob's insight rows: wait for them too.
            and len(sink.read_rows(VALUES_TABLE)) >= len(self.anomaly) * self.values_per_insight
            and len(sink.read_rows(FEEDBACK_TABLE)) >= len(self.labels)
        )


def cloud_settled(system: SystemUnderTest) -> bool:
    """Every filtered message's invocation has ended, and every cloud function has processed every
    claim-check event published so far (one per blob, as the filter's log line counts; each
    subscription gets each event)."""
    filtered = PUBLISHED.findall(system.log(EDGE))
    published = sum(int(count) for count in filtered)
    return system.succeeded(EDGE, "filter_insights") == len(filtered) and all(
        system.succeeded(CLOUD, f) == published for f in CLOUD_FUNCTIONS
    )


def cloud_blobs(system: SystemUnderTest) -> dict[tuple[str, str], bytes]:
    """Every blob of the cloud account: (container, name) -> content."""
    found: dict[tuple[str, str], bytes] = {}
    with BlobServiceClient.from_connection_string(system.connection_string("cloud")) as service:
        for container in service.list_containers():
            client = service.get_container_client(container.name)
            for blob in client.list_blobs():
                found[(container.name, blob.name)] = client.download_blob(blob.name).readall()
    return found


def blob_url(system: SystemUnderTest, container: str, name: str) -> str:
    return f"http://{system.azurite.host}:{system.azurite.blob_port}/cloud/{container}/{name}"


def events_for_blobs(
    system: SystemUnderTest, container: str, blobs: dict[tuple[str, str], bytes]
) -> list[BlobWrittenEvent]:
    """The claim-check events of ``container``'s blobs, as filter_insights published them."""
    events = []
    for (name_container, name), data in sorted(blobs.items()):
        if name_container != container:
            continue
        records = [orjson.loads(line) for line in gzip.decompress(data).splitlines()]
        insights = sum(1 for r in records if r["kind"] == "insight")
        events.append(
            BlobWrittenEvent(
                message_id=event_message_id(container, name),
                subject=container,
                blob_url=blob_url(system, container, name),
                container=container,
                blob_name=name,
                site_id=SITE,
                record_count=len(records),
                insight_count=insights,
                feedback_count=len(records) - insights,
            )
        )
    return events


def publisher(system: SystemUnderTest) -> QueueEventPublisher:
    """The local topic's publisher (what filter_insights uses): every subscription queue."""
    return QueueEventPublisher.from_connection_string(
        system.connection_string("cloud"), "insights", list(TOPIC_SUBSCRIPTIONS)
    )


def queue_texts(system: SystemUnderTest, queue: str) -> list[str]:
    with QueueClient.from_connection_string(system.connection_string("cloud"), queue) as client:
        try:
            return [m.content for m in client.peek_messages(max_messages=32)]
        except ResourceNotFoundError:
            return []


def sink_snapshot(system: SystemUnderTest) -> dict[str, list[dict[str, object]]]:
    return {
        table: system.powerbi_sink.read_rows(table)
        for table in (INSIGHTS_TABLE, VALUES_TABLE, FEEDBACK_TABLE)
    }


def assert_exactly(system: SystemUnderTest, expected: Expected, engine: PolicyEngine) -> list[dict[str, Any]]:
    """The global store and the Power BI sink hold exactly what the edge accepted, once each."""
    items = system.insights()
    ids = [item["insight_id"] for item in items]
    assert len(ids) == len(set(ids)) == len(expected.anomaly)
    assert set(ids) == set(expected.anomaly)
    for item in items:
        insight_id = item["insight_id"]
        assert item["site_id"] == SITE
        assert item["anomaly"] is expected.anomaly[insight_id]
        # Pseudonymized with the site key; operator and notes were dropped at the edge.
        assert item["context"] == {"product_id": engine.pseudonym(expected.product[insight_id])}
        label = expected.labels.get(insight_id)
        assert (item["feedback"] or {}).get("label") == label, insight_id

    summary = system.summary()
    assert [site["site_id"] for site in summary["sites"]] == [SITE]
    overall = summary["overall"]
    assert overall["scored"] == len(expected.anomaly)
    assert overall["anomalies"] == sum(expected.anomaly.values()) > 0
    assert overall["feedback"] == len(expected.labels)

    sink = sink_snapshot(system)
    assert sorted(row["insight_id"] for row in sink[INSIGHTS_TABLE]) == sorted(expected.anomaly)  # type: ignore[type-var]
    assert sorted(row["feedback_id"] for row in sink[FEEDBACK_TABLE]) == sorted(expected.feedback_ids)  # type: ignore[type-var]
    values = {(row["insight_id"], row["source"], row["name"]) for row in sink[VALUES_TABLE]}
    assert (
        len(values)
        == len(sink[VALUES_TABLE])
        == sum(len(item["inputs"]) + len(item["outputs"]) + len(item["context"]) for item in items)
    )
    return items


def test_scorings_reach_the_global_store_and_powerbi_exactly_once(
    system: SystemUnderTest, demo_bundle_dir: Path
) -> None:
    engine = PolicyEngine(
        load_compliance_policy(REPO_ROOT / "policies" / "compliance.yaml"),
        system.env["EDGELOOP_SITE_HMAC_KEY"].encode("utf-8"),
    )
    manifest = load_manifest(demo_bundle_dir)
    expected = Expected(values_per_insight=len(manifest.inputs) + len(manifest.outputs) + 1)
    rows = readings(demo_bundle_dir, 300, seed=21, offset=0)

    # 1. The first request on its own: the relay sends it as one message, which we can rebuild.
    first_ids = expected.scored(system, rows[:50])
    system.wait_until(lambda: system.outbox_depth() == 0, ARRIVAL_TIMEOUT, "the outbox to drain")
    outbox = SqliteOutbox(Path(system.env["SCORING_OUTBOX_PATH"]), capacity=1_000_000)
    try:
        first_records = list(reversed(outbox.recent("insight", len(first_ids))))
    finally:
        outbox.close()
    assert [r["insight_id"] for r in first_records] == first_ids
    # The items the relay packed: the request's column documents, as the outbox keeps them.
    with closing(sqlite3.connect(system.env["SCORING_OUTBOX_PATH"])) as db:
        (payload,) = db.execute("SELECT payload FROM payloads ORDER BY seq LIMIT 1").fetchone()
    [(first_body, _)] = pack_items(bytes(payload).split(b"\n"))

    # 2. The rest over several requests, then outcomes for some of them.
    for start in range(50, 300, 50):
        expected.scored(system, rows[start : start + 50])
    ids = list(expected.anomaly)
    expected.labels = {insight_id: index % 2 for index, insight_id in enumerate(ids[::7])}
    expected.feedback_ids |= set(system.feedback(expected.labels))
    sent = time.monotonic()
    system.wait_until(lambda: expected.arrived(system), ARRIVAL_TIMEOUT, "300 insights and their feedback")
    print(f"edge -> global store and Power BI sink in {time.monotonic() - sent:.1f} s")
    items = assert_exactly(system, expected, engine)
    summary = system.summary()
    sink = sink_snapshot(system)

    # 3. Redelivery: every processed event again on both subscriptions, and the first packed
    #    message again on the edge queue (the same bytes: it was processed under this digest).
    #    Counted from a quiet start: the feeds log "Executed" after their writes, and the lake
    #    is not among what `arrived` waits on, so some originals may still be finishing.
    system.wait_until(lambda: cloud_settled(system), ARRIVAL_TIMEOUT, "every published event to be processed")
    blobs = cloud_blobs(system)
    digest = message_digest(first_body)
    assert [name for (container, name) in blobs if container == "compliant" and digest in name]
    copies = events_for_blobs(system, "compliant", blobs) + events_for_blobs(system, "anomalies", blobs)
    republished = sum(1 for (_, name) in blobs if digest in name)  # what the message copy publishes again
    before = {f: system.succeeded(CLOUD, f) for f in CLOUD_FUNCTIONS}
    filtered_before = system.succeeded(EDGE, "filter_insights")
    publisher(system).publish(copies)
    with QueueClient.from_connection_string(
        system.connection_string("edge"), "insights", message_encode_policy=BinaryBase64EncodePolicy()
    ) as edge_queue:
        edge_queue.send_message(first_body)
    system.wait_until(
        lambda: (
            system.succeeded(EDGE, "filter_insights") == filtered_before + 1
            and all(system.succeeded(CLOUD, f) == n + len(copies) + republished for f, n in before.items())
        ),
        ARRIVAL_TIMEOUT,
        "the redelivered events and message to be processed",
    )
    assert system.insights() == items
    assert system.summary() == summary
    assert sink_snapshot(system) == sink

    # 4. Poison: events for a missing and a corrupt blob are dead-lettered; scoring flows on.
    with BlobServiceClient.from_connection_string(system.connection_string("cloud")) as service:
        service.get_blob_client("compliant", f"site={SITE}/corrupt.jsonl.gz").upload_blob(b"not gzip")
    poison = [
        BlobWrittenEvent(
            message_id=f"compliant/site={SITE}/{name}",
            subject="compliant",
            blob_url=blob_url(system, "compliant", f"site={SITE}/{name}"),
            container="compliant",
            blob_name=f"site={SITE}/{name}",
            site_id=SITE,
            record_count=10,
            insight_count=10,
            feedback_count=0,
        )
        for name in ("missing.jsonl.gz", "corrupt.jsonl.gz")
    ]
    publisher(system).publish(poison)
    for start in range(0, 60, 30):
        expected.scored(system, readings(demo_bundle_dir, 30, seed=22 + start, offset=300 + start))
    dead_queues = ("insights-global-deadletter", "insights-powerbi-deadletter", "insights-lake-deadletter")
    system.wait_until(
        lambda: expected.arrived(system) and all(len(queue_texts(system, q)) == 2 for q in dead_queues),
        ARRIVAL_TIMEOUT,
        "360 insights and two dead letters per subscription",
    )
    for queue in dead_queues:
        letters = [json.loads(base64.b64decode(text)) for text in queue_texts(system, queue)]
        assert sorted(letter["message_id"] for letter in letters) == sorted(e.message_id for e in poison)
        assert {letter["dead_letter_reason"] for letter in letters} == {"MaxDequeueCountExceeded"}
    for function in ("ingest_insights", "feed_powerbi", "feed_lake"):
        failed = system.log(CLOUD).count(f"Executed 'Functions.{function}' (Failed")
        assert failed == len(poison) * MAX_DELIVERY, function
    items = assert_exactly(system, expected, engine)
    # The lake table holds each insight once, after the redeliveries of step 3.
    lake = build_lake_table(LakeSettings.model_validate({"CloudStorage": system.connection_string("cloud")}))
    lake_ids = list(lake.frame(site=SITE)["insight_id"])
    assert sorted(lake_ids) == sorted(item["insight_id"] for item in items)

    # 5. What is on site stays there: no operator, notes or raw product id anywhere in the cloud.
    assert_nothing_on_site_left(system, expected, items)


def assert_nothing_on_site_left(
    system: SystemUnderTest, expected: Expected, items: list[dict[str, Any]]
) -> None:
    documents: list[bytes] = []
    for data in cloud_blobs(system).values():
        documents.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    with QueueServiceClient.from_connection_string(system.connection_string("cloud")) as queues:
        names = [queue.name for queue in queues.list_queues()]
    documents += [text.encode() for name in names for text in queue_texts(system, name)]
    cloud_state = Path(system.env["CLOUD_SQLITE_PATH"]).parent  # the global store and the sink
    documents += [path.read_bytes() for path in cloud_state.rglob("*") if path.is_file()]
    everything = b"\n".join(documents)
    # Not vacuous: the pseudonyms are there, in the blobs, the store and the sink.
    assert items[0]["context"]["product_id"].encode() in everything
    assert MARKER.encode() not in everything, "an on-site value (operator, notes or product id) left the site"
    for raw in (OPERATOR, NOTES, next(iter(expected.product.values()))):
        assert raw.encode() not in everything
