"""Property tests: nothing the policy drops, and no raw pseudonymized value, ever leaves the site.

The pipeline properties run the real filter over real Azurite adapters; thin
spies around those adapters record every byte handed to the cloud account and
to the topic, which is exactly what must be checked (a spy, not a fake: the
writes still happen).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.queue_publisher import QueueEventPublisher
from edgeloop.adapters.servicebus_publisher import to_service_bus_message
from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.domain.compliance import PolicyEngine
from edgeloop.ports import BlobWrittenEvent
from edgeloop.service_layer.filtering import InsightFilter, message_digest
from edgeloop.wire.packing import pack_items
from edgeloop.wire.servicebus_envelope import Envelope, encode_envelope
from localdev.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = b"property-test-site-key-0123456789"
PSEUDONYM = re.compile(rb"hmac-sha256:[0-9a-f]{64}")

# Arbitrary text, plus values that collide with what the record legitimately holds.
COLLIDING = [
    "site-p",
    "insight",
    "M1",
    "ai4i",
    "1.0.0",
    "risk",
    "hmac-sha256:",
    "",
    '"',
    "\\",
    "\n",
    "0.9",
    "true",
]
values = st.one_of(st.text(max_size=24), st.sampled_from(COLLIDING))


class SpyBlobStore:
    def __init__(self, inner: AzureBlobStore) -> None:
        self.inner = inner
        self.writes: list[bytes] = []

    def put(
        self, container: str, name: str, data: bytes, *, content_type: str, overwrite: bool = True
    ) -> str:
        url = self.inner.put(container, name, data, content_type=content_type, overwrite=overwrite)
        # The JSON Lines as stored (gzip bytes say nothing readable about their content).
        self.writes += [container.encode(), name.encode(), url.encode(), gzip.decompress(data)]
        return url

    def get(self, container: str, name: str) -> bytes:
        return self.inner.get(container, name)


class SpyPublisher:
    def __init__(self, inner: QueueEventPublisher) -> None:
        self.inner = inner
        self.writes: list[bytes] = []

    def publish(self, events: Sequence[BlobWrittenEvent]) -> None:
        self.inner.publish(events)
        for event in events:
            message = to_service_bus_message(event)  # what Service Bus would carry
            self.writes.append(b"".join(message.body) + repr(message.application_properties).encode())
            text = encode_envelope(Envelope(event.message_id, orjson.loads(b"".join(message.body))))
            self.writes.append(base64.b64decode(text))  # what the local topic queues carry


def insight(row: int, context: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "insight",
        "schema_version": 1,
        "insight_id": f"{'c' * 32}-{row:05d}",
        "site_id": "site-p",
        "scored_at": "2026-11-21T08:30:15.000000Z",
        "model": {"name": "ai4i", "version": "1.0.0", "sha256": "ab" * 32},
        "inputs": {"type": "M", "torque_nm": 40.5},
        "outputs": {"failure_probability": 0.9},
        "anomaly": True,
        "anomaly_kinds": ["risk"],
        "context": context,
    }


class Pipeline:
    def __init__(self, azurite: Azurite) -> None:
        cloud = azurite.connection_string("cloud")
        self.engine = PolicyEngine(load_compliance_policy(REPO_ROOT / "policies" / "compliance.yaml"), KEY)
        self.cloud = SpyBlobStore(AzureBlobStore.from_connection_string(cloud))
        self.publisher = SpyPublisher(
            QueueEventPublisher.from_connection_string(cloud, f"p{uuid.uuid4().hex[:12]}", ["global"])
        )
        site = AzureBlobStore.from_connection_string(azurite.connection_string("edge"))
        self.filter = InsightFilter(self.engine, self.cloud, site, self.publisher)

    def run(self, records: list[dict[str, Any]]) -> bytes:
        """Everything written to the cloud or published, with the per-message digest normalized."""
        self.cloud.writes.clear()
        self.publisher.writes.clear()
        body = pack_items([orjson.dumps(r) for r in records])[0][0]
        self.filter.process_message(body)
        digest = message_digest(body).encode()
        return b"\x00".join(self.cloud.writes + self.publisher.writes).replace(digest, b"D")


@pytest.fixture(scope="module")
def pipeline(azurite: Azurite) -> Pipeline:
    return Pipeline(azurite)


contexts = st.lists(
    st.tuples(values, values, st.dictionaries(st.text(max_size=8), values, max_size=3)),
    min_size=1,
    max_size=3,
)
PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(contexts=contexts)
def test_dropped_and_unknown_fields_never_influence_what_leaves_the_site(
    pipeline: Pipeline, contexts: list[tuple[str, str, dict[str, str]]]
) -> None:
    with_private = [
        insight(row, {**extra, "product_id": "M1", "operator": operator, "notes": notes})
        for row, (operator, notes, extra) in enumerate(contexts)
    ]
    without = [insight(row, {"product_id": "M1"}) for row in range(len(contexts))]
    baseline, output = pipeline.run(without), pipeline.run(with_private)
    # Byte-identical output whatever the dropped fields hold: no value of theirs can be in it.
    assert output == baseline
    # And, spelled out as bytes, for every value that is not legitimately elsewhere in the output.
    secrets = [s.encode() for operator, notes, extra in contexts for s in (operator, notes, *extra.values())]
    checked = [s for s in secrets if len(s) >= 3 and s not in baseline]
    assert not [s for s in checked if s in output]


@PROPERTY_SETTINGS
@given(product=values, other=values)
def test_a_pseudonymized_value_never_leaves_the_site_in_the_raw(
    pipeline: Pipeline, product: str, other: str
) -> None:
    raw_out = pipeline.run([insight(0, {"product_id": product, "operator": product})])
    other_out = pipeline.run([insight(0, {"product_id": other})])
    # Only the pseudonym differs, whatever the value (even one equal to another field's).
    assert PSEUDONYM.sub(b"P", raw_out) == PSEUDONYM.sub(b"P", other_out)
    assert len(PSEUDONYM.findall(raw_out)) >= 1
    escaped = json.dumps(product)[1:-1].encode()
    # Search outside the pseudonyms: a short value ("hm") can be part of any "hmac-sha256:<hex>".
    raw_outside_pseudonyms = PSEUDONYM.sub(b"P", raw_out)
    if product and product.encode() not in PSEUDONYM.sub(b"P", other_out):
        assert product.encode() not in raw_outside_pseudonyms
        assert escaped not in raw_outside_pseudonyms


DEMO_ENGINE = PolicyEngine(load_compliance_policy(REPO_ROOT / "policies" / "compliance.yaml"), KEY)
json_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), values)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    record=st.dictionaries(
        st.sampled_from(["kind", "context", "inputs", "model", "x", "site_id"]), json_values
    )
)
def test_the_engine_emits_only_paths_the_policy_names(record: dict[str, Any]) -> None:
    engine = DEMO_ENGINE
    decision = engine.decide(record)
    if decision.record is None:
        return  # refused records go to quarantine, on site
    kept_actions = {"allow", "pseudonymize", "generalize"}
    rules = [rule for rule in engine.policy.fields if rule.action in kept_actions]

    def leaves(value: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        if isinstance(value, dict) and not any(rule.matches(path) for rule in rules):
            return [leaf for key, item in value.items() for leaf in leaves(item, (*path, key))]
        return [path]

    for path in leaves(decision.record, ()):
        # An emptied container a rule reaches into may stay as {}; every other leaf must be named.
        value: Any = decision.record
        for key in path:
            value = value[key]
        assert value == {} or any(rule.matches(path) for rule in rules), path
