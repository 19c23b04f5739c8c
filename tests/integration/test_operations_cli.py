"""``edgeloop ops`` on a real Azurite: list, show, replay and purge poison messages, quarantined
records and (emulated) dead letters, with the confirmation and the audit documents.

The holding places are filled the way their writers fill them: the poison and dead-letter
queues with the text the local Functions host copies there (localdev.functions_host), the
quarantine container with a blob the real InsightFilter wrote. Each test uses queue and topic
names of its own, so they share one Azurite.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient
from support.edge_host import queue_texts
from typer.testing import CliRunner, Result

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.cli.main import app
from edgeloop.domain.compliance import PolicyEngine, parse_policy
from edgeloop.service_layer.filtering import InsightFilter
from edgeloop.wire.packing import pack_items, unpack_message
from edgeloop.wire.servicebus_envelope import Envelope, encode_envelope, parse_envelope
from edgeloop.wire.storage_layout import (
    OPERATIONS_AUDIT_CONTAINER,
    QUARANTINE_CONTAINER,
    quarantine_blob_name,
)
from localdev.azurite import Azurite


@pytest.fixture
def names(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    token = uuid.uuid4().hex[:8]
    queue, topic = f"ins{token}", f"top{token}"
    edge, cloud = azurite.connection_string("edge"), azurite.connection_string("cloud")
    for key, value in {
        "EdgeStorage": edge,
        "CloudStorage": cloud,
        "ServiceBusConnection": cloud,
        "INSIGHTS_QUEUE": queue,
        "EDGELOOP_INSIGHTS_TOPIC": topic,
        "EDGELOOP_ACTOR": "operator-ann",
    }.items():
        monkeypatch.setenv(key, value)
    return {"queue": queue, "topic": topic, "edge": edge, "cloud": cloud}


def ops(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["ops", *args], input=input)


def packed_text(records: list[dict[str, Any]]) -> str:
    ((body, _),) = pack_items([orjson.dumps(r) for r in records])
    return base64.b64encode(body).decode("ascii")  # as the relay's queue sender encodes it


def audit_of(result: Result, connection: str) -> dict[str, Any]:
    (line,) = [line for line in result.output.splitlines() if line.startswith("audit: ")]
    name = line.removeprefix(f"audit: {OPERATIONS_AUDIT_CONTAINER}/")
    blob = BlobServiceClient.from_connection_string(connection).get_blob_client(
        OPERATIONS_AUDIT_CONTAINER, name
    )
    document: dict[str, Any] = json.loads(blob.download_blob().readall())
    return document


def held_ids(place: str) -> list[str]:
    result = ops("list", place, "--json", "--limit", "10000")
    assert result.exit_code == 0, result.output
    return [m["id"] for m in json.loads(result.stdout)]


def test_poison_messages_are_listed_shown_and_replayed_unchanged_with_an_audit(names: dict[str, str]) -> None:
    poison = QueueClient.from_connection_string(names["edge"], f"{names['queue']}-poison")
    poison.create_queue()
    texts = [
        packed_text([{"kind": "insight", "insight_id": f"a-{i:05d}", "site_id": "s1"}]) for i in range(3)
    ]
    for text in texts:
        poison.send_message(text)

    places = ops("places")
    assert f"{names['queue']}-poison\t-> {names['queue']}" in places.output
    ids = held_ids(f"{names['queue']}-poison")
    assert len(ids) == 3
    shown = ops("show", f"{names['queue']}-poison", ids[1])
    assert shown.exit_code == 0, shown.output
    assert '"insight_id": "a-00001"' in shown.output  # the pack unpacked for a person

    replayed = ops("replay", f"{names['queue']}-poison", ids[0], ids[2], "no-such-id")
    assert replayed.exit_code == 0, replayed.output
    assert sorted(queue_texts(names["edge"], names["queue"])) == sorted([texts[0], texts[2]])
    assert held_ids(f"{names['queue']}-poison") == [ids[1]]  # the one not named is visible at once
    audit = audit_of(replayed, names["edge"])
    assert audit["actor"] == "operator-ann"
    assert (audit["action"], audit["place"], audit["source"]) == (
        "replay",
        f"{names['queue']}-poison",
        names["queue"],
    )
    assert sorted(audit["done"]) == sorted([ids[0], ids[2]])
    assert audit["missing"] == ["no-such-id"]
    assert "a-00000" not in json.dumps(audit)  # ids and reasons only, never the content


def test_purge_asks_first_and_deletes_only_when_confirmed(names: dict[str, str]) -> None:
    place = f"{names['queue']}-poison"
    poison = QueueClient.from_connection_string(names["edge"], place)
    poison.create_queue()
    for number in range(2):
        poison.send_message(f"message {number}")
    declined = ops("purge", place, "--all", input="n\n")
    assert declined.exit_code == 1
    assert len(held_ids(place)) == 2
    refused = ops("purge", place)
    assert refused.exit_code == 2
    assert "--all" in refused.output
    purged = ops("purge", place, "--all", input="y\n")
    assert purged.exit_code == 0, purged.output
    assert held_ids(place) == []
    assert queue_texts(names["edge"], names["queue"]) == []  # purge sends nothing anywhere
    audit = audit_of(purged, names["edge"])
    assert (audit["action"], len(audit["done"]), audit["requested"]) == (
        "purge",
        2,
        {"all": True, "limit": 1000},
    )


def test_a_message_beyond_one_peek_is_shown_and_replayed_and_the_others_stay_visible(
    names: dict[str, str],
) -> None:
    place = f"{names['queue']}-poison"
    poison = QueueClient.from_connection_string(names["edge"], place)
    poison.create_queue()
    sent = [poison.send_message(f"message {number:02d}") for number in range(40)]
    last = sent[-1].id
    assert last not in held_ids(place)  # a peek reaches 32

    shown = ops("show", place, last)
    assert shown.exit_code == 0, shown.output
    assert shown.output.rstrip().endswith("message 39")
    replayed = ops("replay", place, last)
    assert replayed.exit_code == 0, replayed.output
    assert queue_texts(names["edge"], names["queue"]) == ["message 39"]
    # The 32 received on the way were made visible again at once, not after the lease.
    assert len(held_ids(place)) == 32
    assert poison.get_queue_properties().approximate_message_count == 39


class RecordedEvents:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def publish(self, events: Any) -> None:
        self.events.extend(events)


def site_record() -> dict[str, Any]:
    return {
        "kind": "insight",
        "schema_version": 1,
        "insight_id": f"{uuid.uuid4().hex}-00000",
        "site_id": "s-paused",
        "scored_at": "2026-11-21T08:00:00.000000Z",
        "model": {"name": "m", "version": "1", "sha256": "ab" * 32},
        "inputs": {"torque_nm": 40.0},
        "outputs": {"failure_probability": 0.1},
        "anomaly": False,
        "anomaly_kinds": [],
    }


def a_filter(names: dict[str, str], excluded: list[str], events: RecordedEvents) -> InsightFilter:
    policy = {
        "version": 1,
        "record_rules": {"keep_kinds": ["insight"], "exclude_sites": excluded, "require": []},
        "fields": {"kind": "allow", "insight_id": "allow", "site_id": "allow", "scored_at": "allow"},
    }
    return InsightFilter(
        engine=PolicyEngine(parse_policy(policy, "test-policy"), None),
        cloud_blobs=AzureBlobStore.from_connection_string(names["cloud"]),
        site_blobs=AzureBlobStore.from_connection_string(names["edge"]),
        publisher=events,
        clock=lambda: datetime.now(UTC),
    )


def test_quarantined_records_are_replayed_to_the_insights_queue_and_pass_a_fixed_policy(
    names: dict[str, str],
) -> None:
    """The real filter quarantines a record its policy refuses (an excluded site); replayed after
    the policy is fixed, the same record passes the filter and nothing stays in quarantine."""
    record = site_record()
    ((body, _),) = pack_items([orjson.dumps(record)])
    events = RecordedEvents()
    result = a_filter(names, ["s-paused"], events).process_message(body)
    assert result.quarantined == 1
    blob_name = quarantine_blob_name(result.message_digest)
    assert blob_name in held_ids(QUARANTINE_CONTAINER)
    listed = json.loads(ops("list", QUARANTINE_CONTAINER, "--json", "--limit", "10000").stdout)
    (entry,) = [m for m in listed if m["id"] == blob_name]
    assert entry["reason"].startswith("policy:")

    replayed = ops("replay", QUARANTINE_CONTAINER, blob_name)
    assert replayed.exit_code == 0, replayed.output
    assert blob_name not in held_ids(QUARANTINE_CONTAINER)
    (text,) = queue_texts(names["edge"], names["queue"])
    replayed_body = base64.b64decode(text)
    assert unpack_message(replayed_body) == [record]
    fixed = a_filter(names, [], events).process_message(replayed_body)
    assert (fixed.compliant, fixed.quarantined) == (1, 0)
    assert audit_of(replayed, names["edge"])["done"] == [blob_name]


def test_dead_letters_are_replayed_to_their_subscription_without_the_dead_letter_fields(
    names: dict[str, str],
) -> None:
    entity = f"{names['topic']}-global"
    dead = QueueClient.from_connection_string(names["cloud"], f"{entity}-deadletter")
    dead.create_queue()
    envelope = Envelope(message_id="evt-1", body={"blob_name": "x.jsonl.gz"}, subject="compliant")
    dead.send_message(
        encode_envelope(
            envelope,
            dead_letter_reason="MaxDeliveryCountExceeded",
            dead_letter_error_description="store down",
        )
    )
    listed = json.loads(ops("list", f"{entity}-deadletter", "--json").stdout)
    assert [m["reason"] for m in listed] == ["MaxDeliveryCountExceeded"]
    replayed = ops("replay", f"{entity}-deadletter", "--all")
    assert replayed.exit_code == 0, replayed.output
    (text,) = queue_texts(names["cloud"], entity)
    assert parse_envelope(base64.b64decode(text)) == envelope
    assert "dead_letter" not in base64.b64decode(text).decode()
    assert audit_of(replayed, names["cloud"])["source"] == entity


def test_an_unknown_place_is_refused_naming_the_known_ones(names: dict[str, str]) -> None:
    result = ops("list", "no-such-place")
    assert result.exit_code == 2
    assert "no-such-place" in result.output
    assert f"{names['queue']}-poison" in result.output
