"""The shadow challenger on Azurite, in process: the signed shadow pointer, the site's shadow delivery,
shadow scoring behind the answer, and the shadow insights' whole path to the report.

Real parts: azure-storage-blob and -queue on Azurite (registry, shadow pointer, the site's queue, the
compliant blobs), Ed25519 keys, onnxruntime (the demo champion and its variants), the site's SQLite
outbox and pointer ledger, the relay, the edge filter with the default compliance policy, ingest,
the SQLite global store and the global app's JSON route. The only stand-in is the claim-check
publisher: the events the filter returns are handed straight to ingest (the topic's transport is
tested in test_functions_host_timer_servicebus.py).
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient
from fastapi.testclient import TestClient
from support.bundles import valid_rows
from support.image_bundles import surface_bundle
from support.model_loop import MODEL_NAME, register_variant

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.blob_shadow_pointers import BlobShadowPointers
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import BundleSigner, BundleVerifier, generate_key_pair
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.adapters.sqlite_pointer_ledger import SqlitePointerLedger
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.bootstrap.retraining import (
    build_pointer_signing,
    build_shadow_refresher,
    publish_first_champion,
)
from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.compliance import PolicyEngine
from edgeloop.domain.records import utc_now
from edgeloop.ports import BlobWrittenEvent, ScoringModel
from edgeloop.service_layer.feedback import FeedbackItem, FeedbackService
from edgeloop.service_layer.filtering import InsightFilter
from edgeloop.service_layer.ingest import InsightIngest
from edgeloop.service_layer.relay import OutboxRelay
from edgeloop.service_layer.scoring import ScoringService, evaluate
from edgeloop.service_layer.shadow_delivery import ShadowDelivery
from edgeloop.service_layer.shadow_pointers import PointerSigning, start_shadow, stop_shadow
from edgeloop.service_layer.shadow_scoring import ShadowScorer, ShadowSlot
from global_app.app import create_app
from global_app.auth import OpenAccess
from localdev.azurite import REPO_ROOT, Azurite
from scoring_app.decoding.score_body import validated_columns

SITE = "site-shadow"


class CollectedEvents:
    """The claim-check publisher's stand-in: keeps the events for ingest (see the module's docstring)."""

    def __init__(self) -> None:
        self.events: list[BlobWrittenEvent] = []

    def publish(self, events: Sequence[BlobWrittenEvent]) -> None:
        self.events.extend(events)


@dataclass
class Fleet:
    azurite: Azurite
    registry: BlobModelRegistry
    pointers: BlobShadowPointers
    signing: PointerSigning
    signer: BundleSigner
    trusted: str
    champion: OnnxModel
    root: Path
    settings: RetrainingSettings

    def site(
        self, name: str = SITE, served: Callable[[], ScoringModel | None] = lambda: None
    ) -> tuple[ShadowDelivery, ShadowSlot]:
        container = self.registry.container.container_name
        source = BlobModelRegistry.from_connection_string(
            self.azurite.connection_string("cloud"), container, site_side=True
        )
        verifier, slot = BundleVerifier(self.trusted), ShadowSlot()
        delivery = ShadowDelivery(
            slot=slot,
            pointers=BlobShadowPointers(source.container),
            source=source,
            verify_pointer=verifier.verify_pointer,
            ledger=SqlitePointerLedger(self.root / name / "pointer-ledger.sqlite3"),
            verify=verifier.verify,
            load_model=OnnxModel.load,
            cache_dir=self.root / name,
            model_name=MODEL_NAME,
            site_id=name,
            served=served,
        )
        return delivery, slot

    def start(self, version: str, sites: Sequence[str] = (SITE,)) -> None:
        start_shadow(self.pointers, self.registry, MODEL_NAME, version, sites, self.signing)


@pytest.fixture(scope="module")
def fleet(azurite: Azurite, demo_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    private, public = generate_key_pair()
    container = f"models-{uuid.uuid4().hex[:10]}"
    settings = RetrainingSettings(
        CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
        MODEL_REGISTRY_CONTAINER=container,
        MODEL_SIGNING_PRIVATE_KEY=private,  # type: ignore[arg-type]
    )
    publish_first_champion(settings, demo_bundle_dir)  # 1.0.0
    registry = BlobModelRegistry.from_connection_string(azurite.connection_string("cloud"), container)
    signer = BundleSigner(private)
    register_variant(registry, demo_bundle_dir, "1.1.0", signer, threshold=1e-9)  # flags every row
    register_variant(registry, demo_bundle_dir, "1.2.0", signer, golden_shift=0.5)  # fails its golden check
    return Fleet(
        azurite,
        registry,
        BlobShadowPointers(registry.container),
        build_pointer_signing(settings, signer),
        signer,
        public,
        OnnxModel.load(demo_bundle_dir),
        tmp_path_factory.mktemp("shadow-sites"),
        settings,
    )


@pytest.fixture(scope="module")
def cloud_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteInsightStore]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("shadow-cloud") / "global.sqlite3")
    yield store
    store.close()


def relay_filter_ingest(
    fleet: Fleet, outbox: SqliteOutbox, store: SqliteInsightStore
) -> list[dict[str, Any]]:
    """Outbox -> queue -> filter (default policy) -> compliant blobs -> ingest; the compliant records."""
    queue = f"shadow-{uuid.uuid4().hex[:12]}"
    edge = fleet.azurite.connection_string("edge")
    relay = OutboxRelay(outbox, StorageQueueSender(edge, queue), max_in_flight=1)
    while relay.run_once():
        pass
    relay.close()
    events = CollectedEvents()
    cloud_blobs = AzureBlobStore.from_connection_string(fleet.azurite.connection_string("cloud"))
    engine = PolicyEngine(load_compliance_policy(REPO_ROOT / "policies" / "compliance.yaml"), b"k" * 32)
    site_blobs = AzureBlobStore.from_connection_string(edge)
    edge_filter = InsightFilter(engine, cloud_blobs, site_blobs, events)
    client = QueueClient.from_connection_string(edge, queue, message_decode_policy=BinaryBase64DecodePolicy())
    for message in client.receive_messages(messages_per_page=32):
        result = edge_filter.process_message(message.content)
        assert result.quarantined == 0, "nothing of a shadow scoring is quarantined"
    ingest = InsightIngest(cloud_blobs, store)
    compliant: list[dict[str, Any]] = []
    for event in events.events:
        ingest.ingest(event)
        if event.container == "compliant":
            data = gzip.decompress(cloud_blobs.get(event.container, event.blob_name))
            compliant += [orjson.loads(line) for line in data.splitlines()]
    return compliant


def test_shadow_insights_reach_the_cloud_and_the_report_shows_them(
    fleet: Fleet, cloud_store: SqliteInsightStore, tmp_path: Path
) -> None:
    delivery, slot = fleet.site()
    fleet.start("1.1.0")
    assert delivery.poll_once() == "installed"
    assert slot.model is not None
    assert slot.model.manifest.version == "1.1.0"
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite3", capacity=10_000)
    scorer = ShadowScorer(outbox, SITE, slot).start()
    scoring = ScoringService(outbox, SITE, shadow=scorer.offer)
    champion = fleet.champion
    rows = valid_rows(champion.manifest, 6, seed=3)
    rows[0]["operator"] = "j.smith"
    columns = validated_columns(champion.manifest, rows)
    scored = scoring.score(champion, columns)
    scorer.drain()
    expected = evaluate(champion, columns)
    assert scored.model_version == "1.0.0"  # the answer is the champion's, row for row
    assert [r["anomaly"] for r in scored.results] == expected.anomaly
    feedback = FeedbackService(outbox, SITE, serving_task=lambda: champion.manifest.task)
    labelled = [r["insight_id"] for r in scored.results[:4]]
    feedback.record([FeedbackItem(insight_id, 1) for insight_id in labelled])
    scorer.stop()

    compliant = relay_filter_ingest(fleet, outbox, cloud_store)
    outbox.close()
    shadows = [record for record in compliant if record["kind"] == "shadow_insight"]
    assert sorted(s["insight_id"] for s in shadows) == sorted(r["insight_id"] for r in scored.results)
    assert all("inputs" not in s and "context" not in s for s in shadows)  # derived outputs only
    assert "j.smith" not in json.dumps(compliant)

    app = TestClient(create_app(cloud_store, OpenAccess()))
    answer = app.get(f"/api/v1/models/{MODEL_NAME}/shadow", params={"site": SITE})
    assert answer.status_code == 200, answer.text
    (summary,) = answer.json()["summaries"]
    served_flags = expected.anomaly
    assert summary["served_version"] == "1.0.0"
    assert summary["shadow_version"] == "1.1.0"
    assert summary["rows"] == 6
    assert summary["agreement_rate"] == pytest.approx(sum(served_flags) / 6)  # 1.1.0 flags every row
    assert summary["labelled"] == 4
    assert summary["shadow_accuracy"] == 1.0  # every label was 1, and the shadow flagged every row
    assert summary["served_accuracy"] == pytest.approx(sum(served_flags[:4]) / 4)
    bad = app.get(f"/api/v1/models/{MODEL_NAME}/shadow", params={"rows": "0"})
    assert bad.status_code == 400
    assert bad.json()["parameter"] == "rows"


def test_refused_pointers_and_a_failed_golden_check_keep_what_the_site_holds(fleet: Fleet) -> None:
    delivery, slot = fleet.site("site-refusals")
    fleet.start("1.1.0", ("site-refusals",))
    assert delivery.poll_once() == "installed"
    raw = fleet.registry.container.download_blob(f"{MODEL_NAME}/shadow.json").readall()

    forged = json.loads(raw)
    forged["signed"]["version"] = "1.2.0"  # edited by hand: the signature no longer matches
    fleet.registry.container.upload_blob(f"{MODEL_NAME}/shadow.json", json.dumps(forged), overwrite=True)
    assert delivery.poll_once() == "refused"
    assert slot.model is not None
    assert slot.model.manifest.version == "1.1.0"

    fleet.start("1.2.0", ("site-refusals",))  # validly signed, but the bundle fails its golden check
    assert delivery.poll_once() == "rejected"
    assert slot.model is None
    assert "golden check failed" in delivery.status()["rejected"]["1.2.0"]

    blob = fleet.registry.container.get_blob_client(f"{MODEL_NAME}/shadow.json")
    newest = blob.download_blob().readall()
    blob.upload_blob(raw, overwrite=True)  # a replay of the older, validly signed pointer
    assert delivery.poll_once() == "refused"
    assert delivery.status()["refusals"] == {"forged": 1, "stale": 1}
    blob.upload_blob(newest, overwrite=True)  # the operator puts the newest back

    fleet.start("1.1.0", ("site-elsewhere",))  # names other sites only
    assert delivery.poll_once() == "stopped"
    fleet.start("1.1.0", ("site-refusals",))
    assert delivery.poll_once() == "installed"
    stop_shadow(fleet.pointers, fleet.registry, MODEL_NAME, fleet.signing)
    assert delivery.poll_once() == "stopped"
    assert slot.model is None


def test_a_shadow_taking_rows_beside_an_image_model_is_rejected_naming_why(
    fleet: Fleet, tmp_path: Path
) -> None:
    served = OnnxModel.load(surface_bundle(tmp_path))  # the vision demo: it takes images
    delivery, slot = fleet.site("site-vision", served=lambda: served)
    fleet.start("1.1.0", ("site-vision",))  # the tabular variant: it takes rows
    assert delivery.poll_once() == "rejected"
    assert slot.model is None
    reason = delivery.status()["rejected"]["1.1.0"]  # readyz: checks.shadow.pointer.rejected
    assert "takes rows" in reason
    assert "takes images" in reason
    tabular_site, tabular_slot = fleet.site("site-rows", served=lambda: fleet.champion)
    fleet.start("1.1.0", ("site-rows",))
    assert tabular_site.poll_once() == "installed"  # the same kind: held
    assert tabular_slot.model is not None


def test_an_expired_shadow_pointer_is_refused(fleet: Fleet) -> None:
    delivery, slot = fleet.site("site-expired")
    past = utc_now() - timedelta(days=30)
    start_shadow(
        fleet.pointers,
        fleet.registry,
        MODEL_NAME,
        "1.1.0",
        ("site-expired",),
        fleet.signing,
        clock=lambda: past,
    )
    assert delivery.poll_once() == "refused"
    assert delivery.status()["refusals"] == {"expired": 1}
    assert slot.model is None


def test_the_retraining_timers_step_re_signs_a_shadow_pointer_only_once_it_expires_soon(fleet: Fleet) -> None:
    refresh = build_shadow_refresher(fleet.settings)
    fresh = start_shadow(fleet.pointers, fleet.registry, MODEL_NAME, "1.1.0", ("site-a",), fleet.signing)
    assert refresh() is None  # the fleet's pointer is fresh: nothing to do
    lifetime = timedelta(hours=fleet.settings.pointer_lifetime_hours)
    aged_at = utc_now() - lifetime + timedelta(hours=1)  # signed so that it expires within the hour
    aged = start_shadow(
        fleet.pointers, fleet.registry, MODEL_NAME, "1.1.0", ("site-a",), fleet.signing, clock=lambda: aged_at
    )
    assert aged.pointer.serial == fresh.pointer.serial + 1
    renewed = refresh()
    assert renewed is not None
    assert (renewed.pointer.version, renewed.pointer.sites) == ("1.1.0", ("site-a",))
    assert renewed.pointer.serial == aged.pointer.serial + 1
    assert renewed.pointer.expires is not None
    assert renewed.pointer.expires > utc_now() + lifetime / 2


def test_the_command_line_starts_shows_reports_and_stops(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from edgeloop.cli import app

    key = fleet.settings.signing_private_key
    assert key is not None
    store_path = tmp_path / "global.sqlite3"
    for name, value in {
        "CloudStorage": fleet.azurite.connection_string("cloud"),
        "MODEL_REGISTRY_CONTAINER": fleet.settings.models_container,
        "MODEL_SIGNING_PRIVATE_KEY": key.get_secret_value(),
        "CLOUD_SQLITE_PATH": str(store_path),
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    started = runner.invoke(app, ["models", "shadow", "start", "1.1.0", "--sites", "site-a,site-b"])
    assert started.exit_code == 0, started.output
    assert "shadow: 1.1.0 on site-a, site-b" in started.output
    status = runner.invoke(app, ["models", "shadow", "status"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["sites"] == ["site-a", "site-b"]
    unknown = runner.invoke(app, ["models", "shadow", "start", "9.9.9", "--sites", "site-a"])
    assert unknown.exit_code == 1
    assert "9.9.9 is not registered" in unknown.output
    report = runner.invoke(app, ["models", "shadow", "report"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output) == {"model": MODEL_NAME, "summaries": []}
    stopped = runner.invoke(app, ["models", "shadow", "stop"])
    assert stopped.exit_code == 0, stopped.output
    assert json.loads(runner.invoke(app, ["models", "shadow", "status"]).output)["version"] is None
