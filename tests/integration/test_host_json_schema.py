"""host.json and local.settings.example.json against the public SchemaStore schemas (vendored)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from edgeloop.config.edge_functions import EdgeFunctionSettings, load_compliance_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = REPO_ROOT / "tests" / "schemas" / "functions"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def host_validator() -> jsonschema.Draft7Validator:
    schema = load(SCHEMAS / "functions-host.schema.json")
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_host_json_is_valid_against_the_public_schema(host_validator: jsonschema.Draft7Validator) -> None:
    errors = [
        f"{list(e.path)}: {e.message}" for e in host_validator.iter_errors(load(REPO_ROOT / "host.json"))
    ]
    assert errors == []


@pytest.mark.parametrize(
    ("path", "value"),
    [(("extensions", "queues", "batchSize"), 64), (("extensions", "queues", "messageEncoding"), "utf8")],
)
def test_the_schema_rejects_a_broken_host_json(
    host_validator: jsonschema.Draft7Validator, path: tuple[str, ...], value: Any
) -> None:
    broken = copy.deepcopy(load(REPO_ROOT / "host.json"))
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert not host_validator.is_valid(broken)


def test_host_json_makes_the_deliberate_choices() -> None:
    host = load(REPO_ROOT / "host.json")
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    queues = host["extensions"]["queues"]
    # Five tries, then insights-poison: enough to ride out a short cloud outage, few enough
    # that a message no retry can fix stops costing work soon.
    assert queues["maxDequeueCount"] == 5
    # A packed message holds up to ~48 KiB of gzip (thousands of records): 8 at a time, a
    # new batch at 4 left, keeps at most 12 in flight on a small edge node.
    assert (queues["batchSize"], queues["newBatchThreshold"]) == (8, 4)
    # A failed message waits 30 s before its retry, so an outage is not hammered.
    assert queues["visibilityTimeout"] == "00:00:30"
    # An idle queue is polled at least every 2 s: insights reach the cloud within seconds.
    assert queues["maxPollingInterval"] == "00:00:02"
    # The edge relay sends packed bytes with BinaryBase64EncodePolicy.
    assert queues["messageEncoding"] == "base64"
    assert host["functionTimeout"] == "00:05:00"


def test_local_settings_example_is_valid_and_names_what_the_edge_functions_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = load(SCHEMAS / "functions-local-settings.schema.json")
    jsonschema.Draft4Validator.check_schema(schema)
    example_path = REPO_ROOT / "local.settings.example.json"
    example = load(example_path)
    errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(example)]
    assert errors == []
    values = example["Values"]
    # The schema's description: values are strings; names hold no ':' nor '__'.
    assert all(isinstance(v, str) for v in values.values())
    assert not [name for name in values if ":" in name or "__" in name]

    for name in list(values):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(example_path))
    settings = EdgeFunctionSettings()
    assert settings.edge_storage.get_secret_value() == values["EdgeStorage"]
    assert settings.cloud_storage.get_secret_value() == values["CloudStorage"]
    assert settings.hmac_key() == values["EDGELOOP_SITE_HMAC_KEY"].encode()
    assert load_compliance_policy(REPO_ROOT / settings.policy_path).pseudonymized_fields() == [
        "context.product_id"
    ]
