"""The filter_insights use case on real Azurite accounts (edge and cloud), composed by edge_bootstrap."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
import pytest
import yaml
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.bootstrap.edge import build_insight_filter
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.domain.records import FeedbackRecord, InsightRecord, ModelRef
from edgeloop.service_layer.filtering import InsightFilter, message_digest
from edgeloop.wire.packing import PackError, pack_items
from localdev.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[2]
SCORED_AT = datetime(2026, 11, 21, 8, 30, 15, tzinfo=UTC)
KEY = "unit-test-site-key-0123456789"


def insight(site: str, row: int, *, anomaly: bool = False, operator: str = "Jane Roe") -> dict[str, Any]:
    return InsightRecord(
        insight_id=f"{'b' * 32}-{row:05d}",
        site_id=site,
        scored_at=SCORED_AT + timedelta(seconds=row),
        model=ModelRef("ai4i", "1.0.0", "ab" * 32),
        inputs={"type": "M", "torque_nm": 40.0 + row},
        outputs={"failure_probability": 0.9 if anomaly else 0.1},
        anomaly=anomaly,
        anomaly_kinds=("risk",) if anomaly else (),
        context={"product_id": f"M{row}", "operator": operator, "notes": "private note"},
    ).to_wire()


def feedback(site: str, row: int) -> dict[str, Any]:
    return FeedbackRecord(
        f"{'f' * 32}-{row:05d}", f"{'b' * 32}-{row:05d}", site, 1, SCORED_AT + timedelta(hours=1)
    ).to_wire()


def pack(records: list[Any]) -> bytes:
    packs = pack_items([orjson.dumps(r) for r in records])
    assert len(packs) == 1
    return packs[0][0]


class Harness:
    """The real composition against Azurite, with a topic of its own so queues don't mix between tests."""

    def __init__(self, azurite: Azurite, policy_path: Path) -> None:
        self.topic = f"t{uuid.uuid4().hex[:12]}"
        self.site = f"site-{uuid.uuid4().hex[:8]}"
        self.cloud = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
        self.edge = AzureBlobStore.from_connection_string(azurite.connection_string("edge"))
        self.cloud_connection = azurite.connection_string("cloud")
        values: dict[str, Any] = {
            "EdgeStorage": azurite.connection_string("edge"),
            "CloudStorage": self.cloud_connection,
            "ServiceBusConnection": self.cloud_connection,
            "EDGELOOP_SITE_HMAC_KEY": KEY,
            "EDGELOOP_COMPLIANCE_POLICY": str(policy_path),
            "EDGELOOP_INSIGHTS_TOPIC": self.topic,
        }
        settings = EdgeFunctionSettings(**values)  # by setting name, as the environment gives them
        self.filter: InsightFilter = build_insight_filter(settings)

    def cloud_names(self, container: str) -> list[str]:
        return self.cloud.list_names(container, prefix=f"site={self.site}/")

    def cloud_lines(self, container: str, name: str) -> list[dict[str, Any]]:
        data = gzip.decompress(self.cloud.get(container, name))
        return [json.loads(line) for line in data.splitlines()]

    def events(self, subscription: str) -> list[dict[str, Any]]:
        queue = QueueClient.from_connection_string(self.cloud_connection, f"{self.topic}-{subscription}")
        try:
            messages = queue.peek_messages(max_messages=32)
        except ResourceNotFoundError:  # nothing was ever published to it
            return []
        return [json.loads(base64.b64decode(m.content)) for m in messages]


@pytest.fixture
def harness(azurite: Azurite) -> Harness:
    return Harness(azurite, REPO_ROOT / "policies" / "compliance.yaml")


def test_a_mixed_message_is_split_into_compliant_anomaly_and_quarantine_blobs(harness: Harness) -> None:
    site = harness.site
    invalid = insight(site, 9)
    del invalid["model"]
    records = [insight(site, 1), insight(site, 2, anomaly=True), insight(site, 3), feedback(site, 1), invalid]
    body = pack(records)
    digest = message_digest(body)

    result = harness.filter.process_message(body)

    assert (result.records, result.compliant, result.quarantined) == (5, 4, 1)
    hour8 = f"site={site}/date=2026-11-21/hour=08/{digest}.jsonl.gz"
    hour9 = f"site={site}/date=2026-11-21/hour=09/{digest}.jsonl.gz"
    assert harness.cloud_names("compliant") == [hour8, hour9]
    assert harness.cloud_names("anomalies") == [hour8]
    compliant = harness.cloud_lines("compliant", hour8)
    assert [r["insight_id"] for r in compliant] == [f"{'b' * 32}-0000{i}" for i in (1, 2, 3)]
    assert all(set(r["context"]) == {"product_id"} for r in compliant)
    assert all(r["context"]["product_id"].startswith("hmac-sha256:") for r in compliant)
    assert [r["kind"] for r in harness.cloud_lines("compliant", hour9)] == ["feedback"]
    assert [r["insight_id"] for r in harness.cloud_lines("anomalies", hour8)] == [f"{'b' * 32}-00002"]

    quarantined = [
        json.loads(line) for line in harness.edge.get("quarantine", f"{digest}.jsonl").splitlines()
    ]
    assert [(q["index"], q["reason"], q["field"]) for q in quarantined] == [(4, "invalid", "model")]
    assert quarantined[0]["record"] == invalid  # kept whole, on site
    audit = json.loads(harness.edge.get("audit", f"{digest}.json"))
    assert (audit["records"], audit["compliant"], audit["invalid"]) == (5, 4, 1)
    assert audit["fields"]["context.operator"] == {"drop": 3}

    for subscription in ("global", "powerbi"):
        events = harness.events(subscription)
        assert sorted(e["message_id"] for e in events) == sorted(
            [f"compliant/{hour8}", f"compliant/{hour9}", f"anomalies/{hour8}"]
        )
        by_id = {e["message_id"]: e for e in events}
        event = by_id[f"compliant/{hour8}"]
        assert event["subject"] == "compliant"
        assert event["body"]["record_count"] == 3
        assert unquote(event["body"]["blob_url"]).endswith(f"/cloud/compliant/{hour8}")
        assert event["application_properties"]["site_id"] == site


def test_an_insight_with_a_non_finite_output_reaches_the_cloud_flagged(harness: Harness) -> None:
    """The site writes null for a non-finite output; the filter sends it on, not to quarantine."""
    record = insight(harness.site, 3) | {"outputs": {"failure_probability": None}}
    record |= {"anomaly": True, "anomaly_kinds": ["invalid_output"]}
    result = harness.filter.process_message(pack([record]))
    assert result.quarantined == 0
    [name] = harness.cloud_names("anomalies")
    [line] = harness.cloud_lines("anomalies", name)
    assert line["outputs"] == {"failure_probability": None}


def test_a_redelivered_message_overwrites_the_same_blobs_and_repeats_the_event_ids(harness: Harness) -> None:
    body = pack([insight(harness.site, 1), insight(harness.site, 2, anomaly=True)])
    first = harness.filter.process_message(body)
    names = harness.cloud_names("compliant") + harness.cloud_names("anomalies")
    content = harness.cloud.get("compliant", harness.cloud_names("compliant")[0])

    second = harness.filter.process_message(body)

    assert harness.cloud_names("compliant") + harness.cloud_names("anomalies") == names
    assert harness.cloud.get("compliant", harness.cloud_names("compliant")[0]) == content
    assert [e.message_id for e in second.events] == [e.message_id for e in first.events]


@pytest.mark.parametrize(
    "body",
    [
        b"plain text, not gzip",
        gzip.compress(b"{not json"),
        gzip.compress(b'{"format": "something-else", "version": 1, "records": []}'),
        gzip.compress(b'{"format": "edgeloop.pack", "version": 99, "records": []}'),
    ],
    ids=["not-gzip", "not-json", "not-a-pack", "unknown-version"],
)
def test_a_body_that_is_not_a_pack_raises_and_writes_nothing(harness: Harness, body: bytes) -> None:
    with pytest.raises(PackError):
        harness.filter.process_message(body)
    digest = message_digest(body)
    for container in ("compliant", "anomalies"):
        assert not [n for n in harness.cloud.list_names(container) if digest in n]
    for container in ("quarantine", "audit"):
        assert not [n for n in harness.edge.list_names(container) if digest in n]
    assert harness.events("global") == []


def test_a_message_of_only_refused_records_reaches_quarantine_only(azurite: Azurite, tmp_path: Path) -> None:
    policy = yaml.safe_load((REPO_ROOT / "policies" / "compliance.yaml").read_text(encoding="utf-8"))
    policy["record_rules"]["exclude_sites"] = ["site-closed"]
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    harness = Harness(azurite, policy_path)
    body = pack([insight("site-closed", 1), {"kind": "insight"}, "not an object"])

    result = harness.filter.process_message(body)

    assert (result.compliant, result.quarantined, result.events) == (0, 3, ())
    assert harness.cloud.list_names("compliant", prefix="site=site-closed/") == []
    lines = [
        json.loads(x) for x in harness.edge.get("quarantine", f"{message_digest(body)}.jsonl").splitlines()
    ]
    assert [(q["reason"], q["field"]) for q in lines] == [
        ("policy", "exclude_sites"),
        ("invalid", "schema_version"),
        ("invalid", "record"),
    ]
    assert harness.events("global") == []
