"""Signed champion pointers between a registry on Azurite and a site's model delivery.

Real parts: azure-storage-blob on Azurite (the cloud's registry and the site's read-only view of
it), Ed25519 keys, onnxruntime, the site's SQLite pointer ledger, the cloud's composition root.
The site is the scoring app's ModelDelivery driven poll by poll (the end-to-end attack against
a running scoring app is in test_model_delivery.py), so each step's outcome is asserted exactly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from azure.storage.blob import ContainerClient
from support.model_loop import DATA, MODEL_NAME, RecordingTrainer, register_variant

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.ed25519_signing import BundleSigner, BundleVerifier, generate_key_pair
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.sqlite_pointer_ledger import SqlitePointerLedger
from edgeloop.bootstrap.retraining import (
    build_pointer_refresher,
    build_pointer_signing,
    publish_first_champion,
)
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.auto_rollback import RollbackRule
from edgeloop.domain.records import utc_now
from edgeloop.domain.signed_pointer import PointerRefused, SignedPointer, pointer_payload
from edgeloop.service_layer.champion_pointers import PointerSigning, publish_pointer, refresh_pointer
from edgeloop.service_layer.model_delivery import ModelDelivery
from edgeloop.service_layer.model_publishing import promote, rollback
from edgeloop.service_layer.pointer_gate import PointerGate
from edgeloop.service_layer.scoring import ModelHolder
from localdev.azurite import Azurite

POINTER_BLOB = f"{MODEL_NAME}/champion.json"


@dataclass
class Cloud:
    """The cloud's side: its settings (one signing key), registry and pointer signing."""

    settings: RetrainingSettings
    registry: BlobModelRegistry
    signer: BundleSigner

    @property
    def signing(self) -> PointerSigning:
        return build_pointer_signing(self.settings, self.signer)

    @property
    def blobs(self) -> ContainerClient:
        return self.registry._container  # the attacker's view: raw blob writes, no registry rules

    def pointer_bytes(self) -> bytes:
        return bytes(self.blobs.download_blob(POINTER_BLOB).readall())

    def overwrite_pointer(self, data: bytes) -> None:
        self.blobs.upload_blob(POINTER_BLOB, data, overwrite=True)

    def promote(self, version: str) -> None:
        promote(self.registry, MODEL_NAME, version, "test", f"promote {version}", self.signing)


def cloud_settings(azurite: Azurite, container: str, private_key: str, **extra: str) -> RetrainingSettings:
    return RetrainingSettings(
        CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
        MODEL_REGISTRY_CONTAINER=container,
        MODEL_SIGNING_PRIVATE_KEY=private_key,  # type: ignore[arg-type]
        RETRAIN_BASE_DATA=str(DATA),
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def cloud(azurite: Azurite, demo_bundle_dir: Path) -> Cloud:
    private, _ = generate_key_pair()
    container = f"models-{uuid.uuid4().hex[:10]}"
    settings = cloud_settings(azurite, container, private)
    publish_first_champion(settings, demo_bundle_dir)  # 1.0.0, pointer serial 1
    registry = BlobModelRegistry.from_connection_string(azurite.connection_string("cloud"), container)
    return Cloud(settings, registry, BundleSigner(private))


SiteFactory = Callable[..., ModelDelivery]


@pytest.fixture
def site_factory(azurite: Azurite, demo_bundle_dir: Path, tmp_path: Path) -> SiteFactory:
    def make(cloud: Cloud, trusted: str, clock: Callable[[], datetime] = utc_now) -> ModelDelivery:
        """A site serving the demo 1.0.0; its cache and ledger survive a "restart" (a new call)."""
        container = cloud.registry._container.container_name
        source = BlobModelRegistry.from_connection_string(
            azurite.connection_string("cloud"), container, site_side=True
        )
        verifier = BundleVerifier(trusted)
        ledger = SqlitePointerLedger(tmp_path / "site-cache" / "pointer-ledger.sqlite3")
        return ModelDelivery(
            holder=ModelHolder(OnnxModel.load(demo_bundle_dir)),
            source=source,
            gate=PointerGate(verifier.verify_pointer, ledger, MODEL_NAME, clock),
            verify=verifier.verify,
            load_model=OnnxModel.load,
            cache_dir=tmp_path / "site-cache",
            model_name=MODEL_NAME,
            rule=RollbackRule(),
        )

    return make


def test_edited_and_replayed_pointers_are_refused_and_a_real_rollback_is_followed(
    cloud: Cloud, site_factory: SiteFactory, demo_bundle_dir: Path
) -> None:
    site = site_factory(cloud, cloud.signer.public_key_b64)
    assert site.poll_once() == "unchanged"  # serial 1 names 1.0.0, what the site serves
    first = cloud.pointer_bytes()
    register_variant(cloud.registry, demo_bundle_dir, "1.1.0", cloud.signer)
    cloud.promote("1.1.0")
    assert (site.poll_once(), site.serving_version) == ("swapped", "1.1.0")

    # A legitimate rollback is a new pointer (serial 3) naming the older bundle: followed.
    rollback(cloud.registry, MODEL_NAME, "alice", "alarms", cloud.signing)
    assert (site.poll_once(), site.serving_version) == ("swapped", "1.0.0")
    rolled_back = cloud.pointer_bytes()
    cloud.promote("1.1.0")  # serial 4
    assert (site.poll_once(), site.serving_version) == ("swapped", "1.1.0")

    # The attack found from outside: only the version of champion.json edited back.
    edited = json.loads(cloud.pointer_bytes())
    edited["signed"]["version"] = "1.0.0"
    cloud.overwrite_pointer(json.dumps(edited).encode())
    assert (site.poll_once(), site.serving_version) == ("refused", "1.1.0")
    pointer = site.status()["pointer"]
    assert pointer["refusals"] == {"forged": 1}
    assert "signature does not match the pointer" in pointer["last_refusal"]
    # The cloud does not build on it either: no rollback or refresh launders the edit.
    with pytest.raises(PointerRefused, match="does not match"):
        rollback(cloud.registry, MODEL_NAME, "mallory", "roll back my edit", cloud.signing)
    with pytest.raises(PointerRefused):
        refresh_pointer(cloud.registry, MODEL_NAME, cloud.signing, now=True)

    # Replays of pointers once valid, signed by the right key: older than serial 4, refused.
    for replayed in (rolled_back, first):
        cloud.overwrite_pointer(replayed)
        assert (site.poll_once(), site.serving_version) == ("refused", "1.1.0")
    assert site.status()["pointer"]["refusals"] == {"forged": 1, "stale": 2}
    assert site.status()["pointer"]["serial"] == 4

    # A restarted site remembers serial 4 (its ledger): the replay is still refused.
    restarted = site_factory(cloud, cloud.signer.public_key_b64)
    assert restarted.poll_once() == "refused"
    assert "older than the last accepted (4)" in restarted.status()["pointer"]["last_refusal"]
    assert restarted.status()["champion"] is None  # a refused pointer never shows as the champion


def test_expired_pointers_are_refused_until_the_registry_re_signs_them(
    cloud: Cloud, site_factory: SiteFactory, demo_bundle_dir: Path
) -> None:
    register_variant(cloud.registry, demo_bundle_dir, "1.1.0", cloud.signer)
    current, etag = cloud.registry.champion(MODEL_NAME) or pytest.fail("no champion")
    signed_long_ago = utc_now() - timedelta(days=8)  # a week's lifetime: expired a day ago
    promoted = current.promoted("1.1.0", "test", "old", signed_long_ago)
    publish_pointer(cloud.registry, promoted, etag, cloud.signing, lambda: signed_long_ago)
    site_time = [utc_now()]
    site = site_factory(cloud, cloud.signer.public_key_b64, lambda: site_time[0])
    assert (site.poll_once(), site.serving_version) == ("refused", "1.0.0")
    assert site.status()["pointer"]["refusals"] == {"expired": 1}

    assert refresh_pointer(cloud.registry, MODEL_NAME, cloud.signing) is not None  # the timer's step
    assert refresh_pointer(cloud.registry, MODEL_NAME, cloud.signing) is None  # fresh: nothing to do
    assert (site.poll_once(), site.serving_version) == ("swapped", "1.1.0")
    status = site.status()["pointer"]
    assert (status["serial"], status["expired"]) == (3, False)

    # Frozen: no newer pointer arrives for longer than its lifetime. Shown; the model keeps serving.
    site_time[0] = utc_now() + timedelta(days=8)
    assert site.poll_once() == "unchanged"
    assert site.status()["pointer"]["expired"] is True
    assert site.serving_version == "1.1.0"


def test_key_rotation_new_key_trusted_beside_the_old_then_the_old_retired(
    azurite: Azurite, cloud: Cloud, site_factory: SiteFactory, demo_bundle_dir: Path
) -> None:
    old = cloud.signer
    new_private, new_public = generate_key_pair()
    site = site_factory(cloud, f"{old.public_key_b64},{new_public}")  # 1. sites trust both keys
    assert site.poll_once() == "unchanged"

    # 2. The cloud signs with the new key, still building on pointers of the old one.
    container = cloud.registry._container.container_name
    rotated = Cloud(
        cloud_settings(azurite, container, new_private, MODEL_SIGNING_TRUSTED_KEYS=old.public_key_b64),
        cloud.registry,
        BundleSigner(new_private),
    )
    resigned = refresh_pointer(rotated.registry, MODEL_NAME, rotated.signing, now=True)
    assert resigned is not None
    assert resigned.signatures[0].key_id == rotated.signer.key_id
    assert site.poll_once() == "unchanged"
    register_variant(rotated.registry, demo_bundle_dir, "1.1.0", rotated.signer)
    rotated.promote("1.1.0")
    assert (site.poll_once(), site.serving_version) == ("swapped", "1.1.0")

    # 3. The old key retired on the site: the new key's pointer still passes after the restart...
    restarted = site_factory(cloud, new_public)
    assert (restarted.poll_once(), restarted.serving_version) == ("swapped", "1.1.0")
    # ...and a pointer signed with the retired key (say it leaked), however new, is refused.
    live = cloud.registry.champion(MODEL_NAME) or pytest.fail("no champion")
    newer = live[0].refreshed().sealed(utc_now() + timedelta(days=7), live[0].bundle_sha256 or "")
    leaked = SignedPointer(newer, (old.sign_pointer(pointer_payload(newer)),))
    cloud.overwrite_pointer(json.dumps(leaked.to_dict()).encode())
    assert (restarted.poll_once(), restarted.serving_version) == ("refused", "1.1.0")
    assert restarted.status()["pointer"]["refusals"] == {"unknown_key": 1}


def test_the_retraining_timer_re_signs_the_pointer_once_it_nears_expiry(
    cloud: Cloud, azurite: Azurite
) -> None:
    from functions import dependencies
    from functions.cloud_retraining import schedule_retraining

    container = cloud.registry._container.container_name
    private = cloud.settings.signing_private_key.get_secret_value()  # type: ignore[union-attr]
    # The first pointer has a week left; with a 200-hour refresh window the timer re-signs it.
    timer_settings = cloud_settings(
        azurite, container, private, MODEL_POINTER_LIFETIME_HOURS="400", MODEL_POINTER_REFRESH_HOURS="200"
    )
    trainer = RecordingTrainer()
    dependencies.trainer.override(trainer)
    dependencies.pointer_refresher.override(build_pointer_refresher(timer_settings))
    timer = SimpleNamespace(past_due=False)
    try:
        schedule_retraining(timer)  # type: ignore[arg-type]
        refreshed = cloud.registry.champion(MODEL_NAME) or pytest.fail("no champion")
        assert refreshed[0].serial == 2
        assert refreshed[0].expires is not None
        assert refreshed[0].expires > utc_now() + timedelta(hours=399)
        schedule_retraining(timer)  # type: ignore[arg-type]  # 400 hours left: nothing to re-sign
        assert (cloud.registry.champion(MODEL_NAME) or pytest.fail("no champion"))[0].serial == 2
    finally:
        dependencies.trainer.override(None)
        dependencies.pointer_refresher.override(None)
    assert trainer.reasons == ["schedule", "schedule"]  # the runs are still submitted


def test_a_pointer_from_before_signing_is_refused_until_a_promotion_signs_one(
    cloud: Cloud, site_factory: SiteFactory
) -> None:
    legacy = {"format": "edgeloop.champion", "name": MODEL_NAME, "version": "1.0.0", "history": []}
    cloud.overwrite_pointer(json.dumps(legacy).encode())
    site = site_factory(cloud, cloud.signer.public_key_b64)
    assert site.poll_once() == "refused"
    assert site.status()["pointer"]["refusals"] == {"unsigned": 1}
    with pytest.raises(PointerRefused, match="not signed"):  # never re-signed as it stands
        refresh_pointer(cloud.registry, MODEL_NAME, cloud.signing, now=True)
    cloud.promote("1.0.0")  # the upgrade step: names its version, signs serial 1
    assert site.poll_once() == "unchanged"  # followed: it names what the site serves
    assert site.status()["pointer"]["serial"] == 1
    assert site.status()["champion"] == "1.0.0"
