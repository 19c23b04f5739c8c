"""The model registry and retraining runs on a real Azurite (cloud account, real blobs and ETags).

Real parts only: azure-storage-blob against Azurite, Ed25519 keys, scikit-learn, onnxruntime.
Each test uses its own container names, so tests share the session's Azurite.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.bundles import build_defect_bundle
from support.model_loop import MODEL_NAME, champion_bundle, small_base_csv, write_labelled_records

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import BundleSigner, BundleVerifier, generate_key_pair
from edgeloop.bootstrap.lake import build_lake_table
from edgeloop.bootstrap.retraining import build_registry, build_retraining, publish_first_champion
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.champion import first_pointer
from edgeloop.domain.lake_rows import lake_row
from edgeloop.domain.manifest import load_manifest
from edgeloop.domain.records import InsightRecord, ModelRef
from edgeloop.ports import RegistryConflict, RetrainRequest, VersionExists
from edgeloop.service_layer.champion_pointers import PointerSigning, publish_pointer
from edgeloop.service_layer.model_publishing import promote, rollback
from localdev.azurite import Azurite

AT = datetime(2030, 1, 1, tzinfo=UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def registry(azurite: Azurite) -> BlobModelRegistry:
    return BlobModelRegistry.from_connection_string(azurite.connection_string("cloud"), unique("models"))


@pytest.fixture
def signing() -> PointerSigning:
    signer = BundleSigner(generate_key_pair()[0])
    return PointerSigning(signer.sign_pointer, BundleVerifier(signer.public_key_b64).verify_pointer)


def register_versions(registry: BlobModelRegistry, *versions: str) -> None:
    """Versions with a manifest (a signed pointer names its version's manifest digest)."""
    for version in versions:
        manifest = json.dumps({"name": MODEL_NAME, "version": version}).encode()
        registry.register(MODEL_NAME, version, {"manifest.json": manifest, "a.bin": version.encode()})


def test_versions_are_immutable_and_listed_oldest_first(registry: BlobModelRegistry) -> None:
    registry.register(MODEL_NAME, "1", {"a.bin": b"one"})
    registry.register(MODEL_NAME, "2", {"a.bin": b"two"})
    with pytest.raises(VersionExists):
        registry.register(MODEL_NAME, "1", {"a.bin": b"changed"})
    assert registry.versions(MODEL_NAME) == ["1", "2"]
    assert registry.read(MODEL_NAME, "1", "a.bin") == b"one"


def test_champion_pointer_keeps_its_history_through_promotions_and_rollbacks(
    registry: BlobModelRegistry, signing: PointerSigning
) -> None:
    register_versions(registry, "1", "2", "3")
    publish_pointer(registry, first_pointer(MODEL_NAME, "1", "start-up", "first", AT), None, signing)
    promote(registry, MODEL_NAME, "2", "run a", "better", signing)
    promote(registry, MODEL_NAME, "3", "run b", "better", signing)
    pointer = rollback(registry, MODEL_NAME, "alice", "alarms everywhere", signing)
    assert (pointer.version, pointer.serial) == ("2", 4)  # a rollback is a new pointer, next serial
    stored, _ = registry.champion(MODEL_NAME) or pytest.fail("no champion")
    assert stored == pointer
    assert [(e.action, e.version, e.previous, e.actor) for e in stored.history] == [
        ("promote", "1", None, "start-up"),
        ("promote", "2", "1", "run a"),
        ("promote", "3", "2", "run b"),
        ("rollback", "2", "3", "alice"),
    ]
    assert stored.history[-1].reason == "alarms everywhere"


def test_concurrent_promotions_cannot_clobber_each_other(
    registry: BlobModelRegistry, signing: PointerSigning
) -> None:
    register_versions(registry, "1", "2", "3")
    publish_pointer(registry, first_pointer(MODEL_NAME, "1", "start-up", "first", AT), None, signing)
    # Two promoters read the same pointer (same ETag); only the first write may win.
    first, etag_a = registry.champion(MODEL_NAME) or pytest.fail("no champion")
    second, etag_b = registry.champion(MODEL_NAME) or pytest.fail("no champion")
    assert etag_a == etag_b
    publish_pointer(registry, first.promoted("2", "promoter a", "mine", AT), etag_a, signing)
    with pytest.raises(RegistryConflict):
        publish_pointer(registry, second.promoted("3", "promoter b", "mine", AT), etag_b, signing)
    with pytest.raises(RegistryConflict):  # creating a first champion twice is refused too
        publish_pointer(registry, first_pointer(MODEL_NAME, "3", "x", "y", AT), None, signing)
    stored, _ = registry.champion(MODEL_NAME) or pytest.fail("no champion")
    assert stored.version == "2"
    assert [e.version for e in stored.history] == ["1", "2"]


CHILD = """
import sys
from edgeloop.adapters.blob_model_registry import BlobModelRegistry
registry = BlobModelRegistry.from_connection_string(sys.argv[1], sys.argv[2])
files = {f"part-{i:03d}.bin": bytes([i]) * 400_000 for i in range(200)}
registry.register("ai4i-failure", "killed", files)
"""


def test_a_run_killed_while_registering_leaves_no_version(
    registry: BlobModelRegistry, azurite: Azurite
) -> None:
    container = registry._container.container_name
    child = subprocess.Popen([sys.executable, "-c", CHILD, azurite.connection_string("cloud"), container])
    try:
        deadline = time.monotonic() + 60
        while not registry._container_blobs(f"{MODEL_NAME}/killed/"):
            assert child.poll() is None, "the child finished before it could be killed"
            assert time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait(10)
    assert registry.versions(MODEL_NAME) == []  # files are there, but no version
    assert registry.discard_incomplete(MODEL_NAME, older_than_seconds=3600) == []  # maybe still writing
    assert registry.discard_incomplete(MODEL_NAME, older_than_seconds=0) == ["killed"]
    assert registry._container_blobs(f"{MODEL_NAME}/killed/") == []
    registry.register(MODEL_NAME, "killed", {"a.bin": b"clean"})  # the name is free again
    assert registry.versions(MODEL_NAME) == ["killed"]


# --- retraining runs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_base_csv(tmp_path_factory.mktemp("base") / "base.csv", rows=2000)


@pytest.fixture(scope="module")
def first_champion(tmp_path_factory: pytest.TempPathFactory, base_csv: Path) -> Path:
    return champion_bundle(tmp_path_factory.mktemp("champion") / "bundle", base_csv)


@pytest.fixture
def settings(azurite: Azurite, base_csv: Path, tmp_path: Path) -> RetrainingSettings:
    private, _ = generate_key_pair()
    return RetrainingSettings(
        CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
        MODEL_REGISTRY_CONTAINER=unique("models"),
        RETRAIN_COMPLIANT_CONTAINER=unique("compliant"),
        RETRAIN_BASE_DATA=base_csv,
        RETRAIN_N_ESTIMATORS=20,
        RETRAIN_MIN_NEW_LABELS=100,
        RETRAIN_PROMOTION_MARGIN=0.05,
        MODEL_SIGNING_PRIVATE_KEY=private,  # type: ignore[arg-type]
    )


def run(settings: RetrainingSettings) -> dict:
    report = build_retraining(settings).run(RetrainRequest(uuid.uuid4().hex, datetime.now(UTC), "test"))
    return report.document


def compliant(settings: RetrainingSettings) -> AzureBlobStore:
    return AzureBlobStore.from_connection_string(settings.cloud_storage.get_secret_value())


def test_retraining_skips_with_too_little_data_then_promotes_with_enough(
    settings: RetrainingSettings, first_champion: Path
) -> None:
    publish_first_champion(settings, first_champion)
    write_labelled_records(compliant(settings), settings.compliant_container, skip=2000, count=60)
    skipped = run(settings)
    assert skipped["outcome"] == "skipped"
    assert "at least 100 needed" in skipped["decision"]["reasons"][0]
    assert skipped["version"] is None

    write_labelled_records(compliant(settings), settings.compliant_container, skip=2060, count=400)
    report = run(settings)
    assert report["outcome"] == "promoted", report["decision"]
    assert report["data"]["new_labelled_rows"] == 460
    assert report["data"]["train_rows"] > 1600
    assert set(report["metrics"]) == {"challenger", "champion"}
    for scores in report["metrics"].values():
        assert set(scores) == {"roc_auc", "average_precision", "f1_at_threshold", "brier", "ece", "threshold"}
    registry = BlobModelRegistry.from_connection_string(
        settings.cloud_storage.get_secret_value(), settings.models_container
    )
    version = report["version"]
    assert registry.champion(MODEL_NAME)[0].version == version  # type: ignore[index]
    card = registry.read(MODEL_NAME, version, "model_card.md").decode()
    assert f"# {MODEL_NAME} {version}" in card
    assert "![ROC](roc.png)" in card
    for plot in ("roc.png", "precision_recall.png"):
        assert registry.read(MODEL_NAME, version, plot).startswith(b"\x89PNG")
    stored = json.loads(registry.read(MODEL_NAME, version, "report.json"))
    assert stored["decision"]["outcome"] == "promoted"
    runs = registry.run_reports(MODEL_NAME)
    assert len(runs) == 2


def test_requests_a_worker_takes_together_run_one_after_the_other(
    settings: RetrainingSettings, first_champion: Path
) -> None:
    """The second finds the first's rows used (skipped) rather than training the same challenger
    again and losing the promotion race (rejected): a timer outpacing a long run queues such requests."""
    publish_first_champion(settings, first_champion)
    write_labelled_records(compliant(settings), settings.compliant_container, skip=2000, count=300)
    service = build_retraining(settings)
    requests = [RetrainRequest(uuid.uuid4().hex, datetime.now(UTC), "timer") for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(service.run, requests))
    assert sorted(report.outcome for report in reports) == ["promoted", "skipped"], [
        report.document["decision"] for report in reports
    ]


def test_a_poisoned_feedback_batch_is_rejected_and_the_champion_stays(
    settings: RetrainingSettings, first_champion: Path
) -> None:
    publish_first_champion(settings, first_champion)
    write_labelled_records(compliant(settings), settings.compliant_container, skip=3000, count=300, flip=True)
    report = run(settings)
    assert report["outcome"] == "rejected"
    assert any("labels look wrong" in reason for reason in report["decision"]["reasons"])
    registry = BlobModelRegistry.from_connection_string(
        settings.cloud_storage.get_secret_value(), settings.models_container
    )
    assert registry.champion(MODEL_NAME)[0].version == "1.0.0"  # type: ignore[index]
    assert report["version"] in registry.versions(MODEL_NAME)  # kept for inspection, never served


def test_models_publish_registers_a_bundle_when_a_champion_exists(
    settings: RetrainingSettings,
    first_champion: Path,
    base_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found from outside: with a champion in place, ``models publish`` printed the champion's
    version and registered nothing, so ``models promote`` of the new version failed."""
    from typer.testing import CliRunner

    from edgeloop.cli import app

    assert settings.signing_private_key is not None
    for name, value in {
        "CloudStorage": (settings.cloud_storage or pytest.fail("no connection")).get_secret_value(),
        "MODEL_REGISTRY_CONTAINER": settings.models_container,
        "RETRAIN_BASE_DATA": str(base_csv),
        "MODEL_SIGNING_PRIVATE_KEY": settings.signing_private_key.get_secret_value(),
    }.items():
        monkeypatch.setenv(name, value)
    publish_first_champion(settings, first_champion)
    challenger = champion_bundle(tmp_path / "challenger", base_csv, n_estimators=10, version="2.0.0")

    published = CliRunner().invoke(app, ["models", "publish", "--bundle", str(challenger)])
    assert published.exit_code == 0, published.output
    assert published.output.strip() == "registered 2.0.0"
    registry = build_registry(settings)
    assert registry.versions(MODEL_NAME) == ["1.0.0", "2.0.0"]
    assert (registry.champion(MODEL_NAME) or pytest.fail("no champion"))[0].version == "1.0.0"

    promoted = CliRunner().invoke(app, ["models", "promote", "2.0.0"])
    assert promoted.exit_code == 0, promoted.output
    assert (registry.champion(MODEL_NAME) or pytest.fail("no champion"))[0].version == "2.0.0"


def test_models_publish_registers_a_bundle_of_ones_own_without_a_recipe(
    settings: RetrainingSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data scientist's bundle with neither a recipe nor the demo's inputs: its golden rows come
    from its input schema (they came from the AI4I CSV, which its schema refused: a traceback)."""
    from typer.testing import CliRunner

    from edgeloop.adapters.onnx_model import OnnxModel
    from edgeloop.cli import app
    from edgeloop.domain.bundle_integrity import GOLDEN_FILE, GoldenSample
    from edgeloop.service_layer.golden_check import check_golden

    assert settings.signing_private_key is not None
    for name, value in {
        "CloudStorage": (settings.cloud_storage or pytest.fail("no connection")).get_secret_value(),
        "MODEL_REGISTRY_CONTAINER": settings.models_container,
        "MODEL_SIGNING_PRIVATE_KEY": settings.signing_private_key.get_secret_value(),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RETRAIN_BASE_DATA", raising=False)
    bundle = build_defect_bundle(tmp_path / "own")
    assert load_manifest(bundle).recipe is None

    published = CliRunner().invoke(app, ["models", "publish", "--bundle", str(bundle)])
    assert published.exit_code == 0, published.output
    assert published.output.strip() == "registered 0.1.0 (now champion)"
    registry = build_registry(settings)
    golden = GoldenSample.from_dict(json.loads(registry.read("press-defect", "0.1.0", GOLDEN_FILE)))
    assert len(golden.rows) == 16
    check_golden(OnnxModel.load(bundle), golden)  # what a site checks before serving it

    again = CliRunner().invoke(app, ["models", "publish", "--bundle", str(bundle)])
    assert again.exit_code == 0, again.output  # the same bundle: nothing to do
    other = build_defect_bundle(tmp_path / "other", seed=4)  # another model, the same version
    refused = CliRunner().invoke(app, ["models", "publish", "--bundle", str(other)])
    assert refused.exit_code == 1, refused.output
    assert "press-defect 0.1.0 is registered with another press.onnx" in refused.output
    assert registry.versions("press-defect") == ["0.1.0"]


def move_insights_to_the_lake(settings: RetrainingSettings) -> int:
    """Each compliant blob's insights into the lake table; the blob keeps only the feedback."""
    store, container = compliant(settings), settings.compliant_container
    table, moved = build_lake_table(settings), 0
    for name in store.list_names(container):
        records = [json.loads(line) for line in gzip.decompress(store.get(container, name)).splitlines()]
        insights = [r for r in records if r["kind"] == "insight"]
        rows = [
            lake_row(
                InsightRecord(
                    insight_id=r["insight_id"], site_id=r["site_id"], scored_at=datetime.now(UTC),
                    model=ModelRef("ai4i", "1", "0" * 64), inputs=r["inputs"], outputs={},
                    anomaly=False, anomaly_kinds=(),
                )
            )
            for r in insights
        ]  # fmt: skip
        moved += table.merge(rows)
        feedback = b"".join(json.dumps(r).encode() + b"\n" for r in records if r["kind"] == "feedback")
        store.put(container, name, gzip.compress(feedback), content_type="application/gzip")
    return moved


def test_retraining_reads_the_insights_from_the_lake(
    settings: RetrainingSettings, first_champion: Path
) -> None:
    from_lake = settings.model_copy(update={"insights_from": "lake"})
    publish_first_champion(settings, first_champion)
    site = f"site-{uuid.uuid4().hex[:8]}"
    write_labelled_records(compliant(settings), settings.compliant_container, skip=2000, count=150, site=site)
    assert move_insights_to_the_lake(settings) == 150
    # The blobs alone now hold labels without inputs: nothing to train on.
    assert run(settings)["outcome"] == "skipped"
    report = run(from_lake)
    assert report["data"]["new_labelled_rows"] == 150, report
