"""function_app.py and the filter_insights function, called directly as Microsoft documents.

``app.get_functions()`` -> the function by name -> ``get_user_function()``,
invoked with ``func.QueueMessage``; the dependencies compose from settings
(environment) against real Azurite accounts.
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func
import orjson
import pytest
from azure.storage.queue import QueueClient

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.service_layer.filtering import message_digest
from edgeloop.wire.packing import PackError, pack_items
from functions import dependencies
from functions.registry import BLUEPRINTS_BY_ROLE, UnknownRoleError, blueprint_modules
from localdev.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_function_app(role: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh import of the root function_app.py, as the host does at start-up."""
    monkeypatch.setenv("EDGELOOP_ROLE", role)
    name = f"function_app_{role}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "function_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def user_function(module: ModuleType, name: str) -> Any:
    functions = {fn.get_function_name(): fn for fn in module.app.get_functions()}
    return functions[name].get_user_function()


@pytest.fixture
def edge_env(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    settings = {
        "EdgeStorage": azurite.connection_string("edge"),
        "CloudStorage": azurite.connection_string("cloud"),
        "ServiceBusConnection": azurite.connection_string("cloud"),
        "EDGELOOP_SITE_HMAC_KEY": "edge-function-test-key-0123",
        "EDGELOOP_COMPLIANCE_POLICY": str(REPO_ROOT / "policies" / "compliance.yaml"),
        "EDGELOOP_INSIGHTS_TOPIC": f"t{uuid.uuid4().hex[:12]}",
        "EDGELOOP_LOCAL_SETTINGS": str(REPO_ROOT / "no-such-local.settings.json"),
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    dependencies.insight_filter.override(None)  # compose from these settings on first invocation
    yield settings
    dependencies.insight_filter.override(None)


def packed(site: str, rows: int) -> bytes:
    records = [
        {
            "kind": "insight",
            "schema_version": 1,
            "insight_id": f"{'d' * 32}-{row:05d}",
            "site_id": site,
            "scored_at": "2026-11-21T10:05:00.000000Z",
            "model": {"name": "ai4i", "version": "1.0.0", "sha256": "ab" * 32},
            "inputs": {"torque_nm": 40.0},
            "outputs": {"failure_probability": 0.2},
            "anomaly": False,
            "anomaly_kinds": [],
            "context": {"product_id": "M7", "operator": "Jane Roe"},
        }
        for row in range(rows)
    ]
    return pack_items([orjson.dumps(r) for r in records])[0][0]


def test_the_edge_role_serves_filter_insights_on_the_insights_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_function_app("edge", monkeypatch)
    (function,) = module.app.get_functions()
    trigger = function.get_trigger()
    assert function.get_function_name() == "filter_insights"
    assert trigger.get_dict_repr()["type"] == "queueTrigger"
    assert trigger.get_dict_repr()["queueName"] == "%INSIGHTS_QUEUE%"
    assert trigger.get_dict_repr()["connection"] == "EdgeStorage"
    # Trigger only: outputs go through the adapters, so local and Azure run the same code.
    assert [b.get_dict_repr()["type"] for b in function.get_bindings()] == ["queueTrigger"]


def test_filter_insights_writes_compliant_blobs_and_publishes_events(
    edge_env: dict[str, str], azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = f"site-{uuid.uuid4().hex[:8]}"
    body = packed(site, 3)
    filter_insights = user_function(load_function_app("edge", monkeypatch), "filter_insights")

    filter_insights(func.QueueMessage(id="m1", body=body))

    cloud = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
    name = f"site={site}/date=2026-11-21/hour=10/{message_digest(body)}.jsonl.gz"
    assert cloud.list_names("compliant", prefix=f"site={site}/") == [name]
    lines = gzip.decompress(cloud.get("compliant", name)).splitlines()
    assert len(lines) == 3
    assert b"Jane Roe" not in b"".join(lines)
    for subscription in ("global", "powerbi"):
        queue = QueueClient.from_connection_string(
            edge_env["ServiceBusConnection"], f"{edge_env['EDGELOOP_INSIGHTS_TOPIC']}-{subscription}"
        )
        envelopes = [json.loads(base64.b64decode(m.content)) for m in queue.peek_messages(max_messages=32)]
        assert [e["message_id"] for e in envelopes] == [f"compliant/{name}"]


def test_filter_insights_raises_on_a_garbage_body_so_the_host_retries_it(
    edge_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    filter_insights = user_function(load_function_app("edge", monkeypatch), "filter_insights")
    with pytest.raises(PackError, match="not gzip"):
        filter_insights(func.QueueMessage(id="m2", body=b"garbage"))


def test_an_unknown_role_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UnknownRoleError, match=r"EDGELOOP_ROLE='satellite'.*edge, cloud, all"):
        load_function_app("satellite", monkeypatch)


def test_the_all_role_serves_every_blueprint_of_both_roles() -> None:
    assert blueprint_modules("all") == BLUEPRINTS_BY_ROLE["edge"] + BLUEPRINTS_BY_ROLE["cloud"]


def test_the_edge_role_imports_no_cloud_blueprint() -> None:
    probe = (
        "import sys, function_app\n"
        "print(sorted(m for m in sys.modules if m.startswith('functions.')))\n"
        "print([f.get_function_name() for f in function_app.app.get_functions()])\n"
    )
    env = {"EDGELOOP_ROLE": "edge", "EDGELOOP_LOCAL_SETTINGS": "no-such-file.json", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    modules, names = done.stdout.splitlines()
    for cloud_module in BLUEPRINTS_BY_ROLE["cloud"]:
        assert cloud_module not in modules
    assert names == "['filter_insights']"
    assert "'functions.edge'" in modules
