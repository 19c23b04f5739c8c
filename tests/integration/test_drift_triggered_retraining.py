"""Drift-triggered retraining on a real Azurite: the queue the local trainer uses, the real run.

The champion is the demo's, trained by its recipe (so its manifest carries the training
profile). A site's drift summary goes to DriftTrigger wired as the cloud wires it
(``build_drift_trigger``: the queue trainer, the SQLite ledger); the request on the queue
is run by the real RetrainingService (a tiny recipe, so the run takes seconds) and its run
report carries the reason. A second drifted summary within the interval requests nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient
from support.model_loop import MODEL_NAME, champion_bundle, small_base_csv, write_labelled_records

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.adapters.local_trainer import QueueTrainer
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.bootstrap.retraining import (
    build_drift_trigger,
    build_registry,
    build_retraining,
    publish_first_champion,
)
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.manifest import load_manifest
from edgeloop.wire.retrain_request import request_from_json
from localdev.azurite import Azurite

DRIFTED = {
    "status": "drift",
    "window_rows": 1000,
    "features": {
        "torque_nm": {"statistic": "psi", "value": 0.41, "threshold": 0.25, "status": "drift"},
        "type": {"statistic": "psi", "value": 0.02, "threshold": 0.25, "status": "ok"},
    },
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def base_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_base_csv(tmp_path_factory.mktemp("base") / "base.csv", rows=1000)


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory, base_csv: Path) -> Path:
    return champion_bundle(tmp_path_factory.mktemp("champion") / "bundle", base_csv, n_estimators=5)


@pytest.fixture
def settings(azurite: Azurite, base_csv: Path, champion: Path, tmp_path: Path) -> RetrainingSettings:
    private, _ = generate_key_pair()
    settings = RetrainingSettings(
        CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
        MODEL_REGISTRY_CONTAINER=unique("models"),
        RETRAIN_COMPLIANT_CONTAINER=unique("compliant"),
        RETRAIN_BASE_DATA=base_csv,
        RETRAIN_MIN_NEW_LABELS=100,
        MODEL_SIGNING_PRIVATE_KEY=private,  # type: ignore[arg-type]
        RETRAIN_DRIFT_LEDGER=tmp_path / "drift-triggers.sqlite3",
        RETRAIN_DRIFT_INTERVAL_HOURS=12,
    )
    publish_first_champion(settings, champion)
    store = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
    write_labelled_records(store, settings.compliant_container, skip=1000, count=150)
    recipe = json.loads(build_registry(settings).read(MODEL_NAME, "1.0.0", "manifest.json"))["recipe"]
    recipe["entry_point"] = "support.tiny_recipes:constant"  # seconds, not a forest
    return settings.model_copy(update={"recipe_json": json.dumps(recipe)})


def test_training_records_the_profile_drift_is_measured_against(champion: Path) -> None:
    manifest = load_manifest(champion)
    assert manifest.drift is not None
    assert set(manifest.drift.features) == set(manifest.feature_names)
    assert manifest.drift.features["type"].statistic == "psi"
    assert manifest.drift.profiled_rows > 0


def test_a_drifting_site_triggers_one_run_whose_report_carries_the_reason(
    settings: RetrainingSettings, azurite: Azurite
) -> None:
    connection, queue = azurite.connection_string("cloud"), unique("retrain")
    trigger = build_drift_trigger(settings, QueueTrainer(StorageQueueSender(connection, queue), queue))
    now = datetime.now(UTC)
    first = trigger.consider("site-b", MODEL_NAME, DRIFTED, now)
    assert first.triggered, first.reason
    assert first.reason == "drift: site site-b, features torque_nm"
    again = trigger.consider("site-c", MODEL_NAME, DRIFTED, now + timedelta(hours=1))
    assert not again.triggered
    assert again.next_allowed_at == now + timedelta(hours=12)

    client = QueueClient.from_connection_string(
        connection, queue, message_decode_policy=BinaryBase64DecodePolicy()
    )
    messages = list(client.receive_messages(max_messages=32))
    assert len(messages) == 1  # the rate-limited summary put nothing on the queue
    request = request_from_json(messages[0].content)
    assert (request.run_id, request.reason) == (first.run_id, first.reason)

    report = build_retraining(settings).run(request)
    assert report.document["reason"] == "drift: site site-b, features torque_nm"
    registry = build_registry(settings)
    stored = [json.loads(registry.read_blob(name)) for name in registry.run_reports(MODEL_NAME)]
    assert [document["reason"] for document in stored if document["run_id"] == first.run_id] == [first.reason]
