"""Staged rollouts across a fleet of three sites, on Azurite (issue 16 items 1 and 4).

Real parts: the registry and the rollout pointer in azure-storage-blob on Azurite, Ed25519 keys,
each site's ModelDelivery with its RolloutFollower (onnxruntime, golden checks, its own bundle
cache and SQLite pointer ledger), the global store on SQLite, the cloud's Rollouts and
RolloutWatch. The sites are driven poll by poll, in process, so each step is asserted exactly.
What the fleet would carry through queues and ingest (insights, heartbeats) is written into the
global store directly (that path has its own tests): the heartbeat from each site's real
delivery state (the version served, the versions it refused), the insights at the rates a good
or a bad challenger gives.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support.model_loop import DATA, MODEL_NAME, RecordingTrainer, register_variant

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.blob_rollouts import ROLLOUT_BLOB, BlobRollouts
from edgeloop.adapters.ed25519_signing import BundleSigner, BundleVerifier, generate_key_pair
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.sqlite_pointer_ledger import SqlitePointerLedger
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.bootstrap.retraining import build_pointer_signing, publish_first_champion
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.auto_rollback import RollbackRule
from edgeloop.domain.records import InsightRecord, ModelRef, utc_now
from edgeloop.domain.rollout import RolloutPlan, Thresholds
from edgeloop.domain.rollout_documents import plan_to_dict
from edgeloop.domain.rollout_pointer import WHAT, SignedRollout, ledger_key, rollout_payload
from edgeloop.domain.shadow_records import ServedOutcome, ShadowInsightRecord
from edgeloop.domain.site_status import SiteStatusRecord, new_status_id
from edgeloop.service_layer.model_delivery import ModelDelivery
from edgeloop.service_layer.pointer_gate import PointerGate
from edgeloop.service_layer.rollout_follow import RolloutFollower
from edgeloop.service_layer.rollout_watch import RolloutWatch
from edgeloop.service_layer.rollouts import Rollouts
from edgeloop.service_layer.scoring import ModelHolder
from localdev.azurite import Azurite

SITES = ("site-1", "site-2", "site-3")
PLAN = RolloutPlan(
    rings=(("site-1",), ("site-2",), ("site-3",)), soak=timedelta(0), thresholds=Thresholds(min_rows=20)
)
_ids = itertools.count(1)


@dataclass
class Fleet:
    registry: BlobModelRegistry
    blobs: BlobRollouts
    signer: BundleSigner
    rollouts: Rollouts
    watch: RolloutWatch
    store: SqliteInsightStore
    settings: RetrainingSettings
    store_path: Path
    sites: dict[str, ModelDelivery] = field(default_factory=dict)

    def poll(self, *names: str) -> dict[str, str]:
        return {name: self.sites[name].poll_once() for name in names or SITES}

    def serving(self) -> dict[str, str | None]:
        return {name: site.serving_version for name, site in self.sites.items()}

    def report(self, *names: str, rows: int = 40, anomaly_every: int = 20) -> None:
        """Each site's heartbeat and ``rows`` insights at the version it serves (one anomaly in
        ``anomaly_every``), as ingest would store them."""
        for name in names or SITES:
            site = self.sites[name]
            version = site.serving_version or ""
            self.store.upsert_site_status(
                [
                    SiteStatusRecord(
                        new_status_id(),
                        name,
                        utc_now(),
                        ModelRef(MODEL_NAME, version, "ab" * 32),
                        rejected_versions=tuple(sorted(site.status()["rejected"])),
                    )
                ]
            )
            self.store.upsert([insight(name, version, n % anomaly_every == 0) for n in range(rows)])

    def pointer_bytes(self) -> bytes:
        return bytes(self.registry._container.download_blob(f"{MODEL_NAME}/{ROLLOUT_BLOB}").readall())

    def overwrite_pointer(self, data: bytes) -> None:
        self.registry._container.upload_blob(f"{MODEL_NAME}/{ROLLOUT_BLOB}", data, overwrite=True)


def insight(site: str, version: str, anomaly: bool, at: datetime | None = None) -> InsightRecord:
    index = next(_ids)
    return InsightRecord(
        insight_id=f"{uuid.uuid4().hex}-{index % 100_000:05d}",
        site_id=site,
        scored_at=at or utc_now(),
        model=ModelRef(MODEL_NAME, version, "ab" * 32),
        inputs={"torque_nm": 42},
        outputs={"failure_probability": 0.9 if anomaly else 0.1},
        anomaly=anomaly,
        anomaly_kinds=("high_risk",) if anomaly else (),
    )


def make_site(
    fleet: Fleet, name: str, bundle_dir: Path, cache: Path, trusted: str, clock: Callable[[], datetime]
) -> ModelDelivery:
    container = fleet.registry._container
    verifier = BundleVerifier(trusted)
    ledger = SqlitePointerLedger(cache / "pointer-ledger.sqlite3")
    follower = RolloutFollower(
        BlobRollouts(container),
        PointerGate(
            verifier.verify_pointer, ledger, MODEL_NAME, clock, ledger_key=ledger_key(MODEL_NAME), what=WHAT
        ),
        MODEL_NAME,
        name,
    )
    return ModelDelivery(
        holder=ModelHolder(OnnxModel.load(bundle_dir)),
        source=BlobModelRegistry(container),
        gate=PointerGate(verifier.verify_pointer, ledger, MODEL_NAME, clock),
        verify=verifier.verify,
        load_model=OnnxModel.load,
        cache_dir=cache,
        model_name=MODEL_NAME,
        rule=RollbackRule(),
        rollout=follower,
    )


@pytest.fixture
def fleet(azurite: Azurite, demo_bundle_dir: Path, tmp_path: Path) -> Fleet:
    """A registry with 1.0.0 champion and the plan above, three sites serving 1.0.0 with a day of
    1.0.0's insights behind them (the baseline the candidate is compared with)."""
    private, _ = generate_key_pair()
    container = f"models-{uuid.uuid4().hex[:10]}"
    settings = RetrainingSettings(
        CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
        MODEL_REGISTRY_CONTAINER=container,
        MODEL_SIGNING_PRIVATE_KEY=private,  # type: ignore[arg-type]
        RETRAIN_BASE_DATA=str(DATA),
    )
    publish_first_champion(settings, demo_bundle_dir)
    registry = BlobModelRegistry.from_connection_string(azurite.connection_string("cloud"), container)
    signer = BundleSigner(private)
    blobs = BlobRollouts(registry._container)
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    rollouts = Rollouts(registry, blobs, build_pointer_signing(settings, signer), lambda: SITES)
    rollouts.set_plan(MODEL_NAME, plan_to_dict(PLAN))
    watch = RolloutWatch(rollouts, blobs, store)
    fleet = Fleet(registry, blobs, signer, rollouts, watch, store, settings, tmp_path / "global.sqlite3")
    for name in SITES:
        fleet.sites[name] = make_site(
            fleet, name, demo_bundle_dir, tmp_path / name, signer.public_key_b64, utc_now
        )
    earlier = utc_now() - timedelta(hours=1)
    store.upsert([insight(name, "1.0.0", n % 20 == 0, earlier) for name in SITES for n in range(60)])
    assert fleet.poll() == dict.fromkeys(SITES, "unchanged")
    return fleet


def promote(fleet: Fleet, version: str) -> str:
    found = fleet.registry.champion(MODEL_NAME)
    assert found is not None
    return fleet.rollouts.promote(found[0], version, found[1], "test", f"promote {version}")


def test_a_rollout_advances_ring_by_ring_and_an_offline_site_catches_up(
    fleet: Fleet, demo_bundle_dir: Path
) -> None:
    register_variant(fleet.registry, demo_bundle_dir, "1.1.0", fleet.signer)
    assert promote(fleet, "1.1.0") == "rollout"
    assert fleet.poll() == {"site-1": "swapped", "site-2": "unchanged", "site-3": "unchanged"}
    assert fleet.serving() == {"site-1": "1.1.0", "site-2": "1.0.0", "site-3": "1.0.0"}

    fleet.report()
    first = fleet.watch.run(MODEL_NAME)
    assert first is not None
    assert (first.decision.action, first.state.ring) == ("advance", 1)
    assert fleet.poll("site-1", "site-2") == {"site-1": "unchanged", "site-2": "swapped"}
    # site-3 is offline from here: it neither polls nor reports.
    fleet.report("site-1", "site-2")
    assert fleet.watch.run(MODEL_NAME).state.ring == 2  # type: ignore[union-attr]
    waiting = fleet.watch.run(MODEL_NAME)
    assert waiting is not None
    assert waiting.decision.action == "soak"
    assert "waiting for site-3 to serve 1.1.0" in waiting.decision.reasons
    assert fleet.registry.champion(MODEL_NAME)[0].version == "1.0.0"  # type: ignore[index]

    assert fleet.poll("site-3") == {"site-3": "swapped"}  # back: it catches up at its first poll
    fleet.report("site-3")
    done = fleet.watch.run(MODEL_NAME)
    assert done is not None
    assert done.state.phase == "complete"
    assert fleet.registry.champion(MODEL_NAME)[0].version == "1.1.0"  # type: ignore[index]
    assert fleet.poll() == dict.fromkeys(SITES, "unchanged")
    report = json.loads(fleet.registry.read_blob(done.blob))
    assert report["decision"]["action"] == "advance"
    assert report["evidence"]["serving"] == {"site-3": "1.1.0"}


def test_a_challenger_failing_the_golden_check_on_ring_0_is_rolled_back_and_others_never_see_it(
    fleet: Fleet, demo_bundle_dir: Path
) -> None:
    register_variant(fleet.registry, demo_bundle_dir, "1.3.0", fleet.signer, golden_shift=0.5)
    promote(fleet, "1.3.0")
    assert fleet.poll() == {"site-1": "rejected", "site-2": "unchanged", "site-3": "unchanged"}
    fleet.report()
    verdict = fleet.watch.run(MODEL_NAME)
    assert verdict is not None
    assert verdict.decision.action == "roll_back"
    assert "golden check failed 1 time(s) on the ring" in verdict.decision.reasons
    fleet.poll()
    assert fleet.serving() == dict.fromkeys(SITES, "1.0.0")
    for name in ("site-2", "site-3"):  # never told of 1.3.0, never fetched it
        assert fleet.sites[name].status()["champion"] == "1.0.0"
        assert not (fleet.sites[name]._cache / "1.3.0").exists()


def test_a_challenger_raising_the_anomaly_rate_is_rolled_back_by_the_watch(
    fleet: Fleet, demo_bundle_dir: Path
) -> None:
    register_variant(fleet.registry, demo_bundle_dir, "1.2.0", fleet.signer)
    promote(fleet, "1.2.0")
    fleet.poll()
    fleet.report("site-1", anomaly_every=2)  # half the rows flagged, against 1.0.0's one in twenty
    verdict = fleet.watch.run(MODEL_NAME)
    assert verdict is not None
    assert verdict.decision.action == "roll_back"
    assert "anomaly rate 50.00%" in verdict.decision.reasons[0]
    assert fleet.poll() == {"site-1": "swapped", "site-2": "unchanged", "site-3": "unchanged"}
    assert fleet.serving() == dict.fromkeys(SITES, "1.0.0")
    assert fleet.rollouts.status(MODEL_NAME).phase == "rolled_back"  # type: ignore[union-attr]


def test_a_candidate_that_disagreed_in_shadow_on_ring_0_is_rolled_back_and_the_report_shows_its_shadow(
    fleet: Fleet, demo_bundle_dir: Path
) -> None:
    thresholds = replace(PLAN.thresholds, min_shadow_agreement=0.9, min_shadow_rows=20)
    fleet.rollouts.set_plan(MODEL_NAME, plan_to_dict(replace(PLAN, thresholds=thresholds)))
    register_variant(fleet.registry, demo_bundle_dir, "1.4.0", fleet.signer)
    # Before its rollout, 1.4.0 shadowed site-1's traffic: it flagged one row in two, 1.0.0 none.
    earlier, shadow = utc_now() - timedelta(minutes=30), ModelRef(MODEL_NAME, "1.4.0", "cd" * 32)
    fleet.store.upsert_shadow(
        [
            ShadowInsightRecord(
                f"{uuid.uuid4().hex}-{n:05d}", "site-1", earlier, shadow, ServedOutcome("1.0.0", False),
                {"failure_probability": 0.9 if n % 2 else 0.1}, anomaly=n % 2 == 1,
            )
            for n in range(40)
        ]
    )  # fmt: skip
    promote(fleet, "1.4.0")
    fleet.poll()
    fleet.report("site-1")  # live, 1.4.0 looks like 1.0.0: only its shadow gives it away
    verdict = fleet.watch.run(MODEL_NAME)
    assert verdict is not None
    assert verdict.decision.action == "roll_back"
    assert "in shadow on site-1, 1.4.0 agreed with 1.0.0 on 50.0% of 40 rows" in " ".join(
        verdict.decision.reasons
    )
    report = json.loads(fleet.registry.read_blob(verdict.blob))
    (summary,) = report["evidence"]["shadow"]
    assert (summary["site_id"], summary["served_version"], summary["shadow_version"]) == (
        "site-1",
        "1.0.0",
        "1.4.0",
    )
    assert (summary["rows"], summary["agreement_rate"]) == (40, 0.5)
    fleet.poll()
    assert fleet.serving() == dict.fromkeys(SITES, "1.0.0")


def test_forged_unknown_key_replayed_and_expired_rollout_pointers_are_refused_and_the_site_keeps_serving(
    fleet: Fleet, demo_bundle_dir: Path, tmp_path: Path
) -> None:
    register_variant(fleet.registry, demo_bundle_dir, "1.1.0", fleet.signer)
    promote(fleet, "1.1.0")
    assert fleet.poll()["site-1"] == "swapped"
    older = fleet.pointer_bytes()
    fleet.rollouts.pin(MODEL_NAME, "site-2", "1.1.0", "ops", "early")
    assert fleet.poll()["site-2"] == "swapped"
    current = fleet.pointer_bytes()

    forged = json.loads(current)  # send site-3 to 1.1.0 by editing the signed state
    forged["signed"]["rollout"]["pins"]["site-3"] = "1.1.0"
    fleet.overwrite_pointer(json.dumps(forged).encode())
    assert fleet.poll("site-3") == {"site-3": "refused"}
    stranger = BundleSigner(generate_key_pair()[0])
    signed = SignedRollout.from_dict(forged)
    resigned = SignedRollout(signed.pointer, (stranger.sign_pointer(rollout_payload(signed.pointer)),))
    fleet.overwrite_pointer(json.dumps(resigned.to_dict()).encode())
    fleet.poll("site-3")
    fleet.overwrite_pointer(older)  # a replayed older pointer: site-2 back to 1.0.0 if followed
    fleet.poll("site-2")
    assert fleet.serving() == {"site-1": "1.1.0", "site-2": "1.1.0", "site-3": "1.0.0"}
    assert fleet.sites["site-3"].status()["rollout"]["refusals"] == {"forged": 1, "unknown_key": 1}
    assert fleet.sites["site-2"].status()["rollout"]["refusals"] == {"stale": 1}
    assert fleet.sites["site-2"].rollout_refusals() == {"stale": 1}  # /metrics reads this

    # A site whose clock is past the pointer's expiry refuses it (a frozen registry), keeps serving.
    fleet.overwrite_pointer(current)
    late = make_site(
        fleet,
        "site-4",
        demo_bundle_dir,
        tmp_path / "site-4",
        fleet.signer.public_key_b64,
        lambda: utc_now() + timedelta(days=30),
    )
    assert late.poll_once() == "refused"
    assert late.serving_version == "1.0.0"
    assert late.status()["rollout"]["refusals"] == {"expired": 1}


def test_the_rollout_command_line_sets_a_plan_moves_the_rollout_and_names_what_it_refuses(
    fleet: Fleet, demo_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from edgeloop.cli import app

    assert fleet.settings.signing_private_key is not None
    assert fleet.settings.cloud_storage is not None
    for name, value in {
        "CloudStorage": fleet.settings.cloud_storage.get_secret_value(),
        "MODEL_REGISTRY_CONTAINER": fleet.settings.models_container,
        "MODEL_SIGNING_PRIVATE_KEY": fleet.settings.signing_private_key.get_secret_value(),
        "CLOUD_SQLITE_PATH": str(fleet.store_path),
    }.items():
        monkeypatch.setenv(name, value)
    fleet.report(rows=0)  # the heartbeats: the fleet a plan resolves against
    register_variant(fleet.registry, demo_bundle_dir, "1.1.0", fleet.signer)

    def rollout(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["models", "rollout", *args])
        return result.exit_code, result.output

    bad = tmp_path / "bad-plan.json"
    bad.write_text(json.dumps({"percentages": [50]}))
    assert rollout("plan", str(bad)) == (
        1,
        f"{bad}: rollout plan 'percentages': the last ring must be 100 (the whole fleet)\n",
    )
    good = tmp_path / "plan.json"
    good.write_text(json.dumps({"percentages": [33, 100], "soak_minutes": 30}))
    assert rollout("plan", str(good))[0] == 0
    code, said = rollout("start", "1.1.0", "--reason", "canary")
    assert code == 0, said
    assert said.startswith(f"{MODEL_NAME}: 1.0.0 -> 1.1.0, soaking, ring 0")
    canary = fleet.rollouts.status(MODEL_NAME).current_sites()  # type: ignore[union-attr]
    assert len(canary) == 1
    assert rollout("pin", "site-x", "9.9.9") == (1, f"pin: {MODEL_NAME} has no registered version '9.9.9'\n")
    other = next(site for site in SITES if site not in canary)
    assert rollout("pin", other, "1.1.0")[0] == 0
    assert fleet.poll()[other] == "swapped"
    assert rollout("halt", "--reason", "night")[0] == 0
    code, stored = rollout("status", "--json")
    assert json.loads(stored)["phase"] == "halted"
    assert json.loads(stored)["pins"] == {other: "1.1.0"}
    assert rollout("rollback")[0] == 0
    assert rollout("advance") == (1, f"cannot advance the rollout of {MODEL_NAME} 1.1.0: it is rolled_back\n")


def test_the_fleet_view_shows_each_sites_rollout_state(fleet: Fleet, demo_bundle_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from global_app.app import create_app
    from global_app.auth import OpenAccess

    register_variant(fleet.registry, demo_bundle_dir, "1.1.0", fleet.signer)
    promote(fleet, "1.1.0")
    fleet.rollouts.pin(MODEL_NAME, "site-3", "1.1.0", "ops", "early")
    fleet.poll()
    fleet.report(rows=1)
    with TestClient(create_app(fleet.store, OpenAccess(), rollouts=fleet.rollouts.status)) as client:
        rollouts = client.get("/api/v1/fleet").json()["rollouts"]
        site = client.get("/api/v1/fleet/site-2").json()
        page = client.get("/fleet").text
        site_page = client.get("/fleet/site-1").text
    assert {name: (cells["target_version"], cells["ring"]) for name, cells in rollouts.items()} == {
        "site-1": ("1.1.0", 0),
        "site-2": ("1.0.0", 1),
        "site-3": ("1.1.0", 2),
    }
    assert rollouts["site-3"]["pinned"] is True
    assert site["rollout"]["phase"] == "soaking"
    assert site["rollout"]["current_ring"] == 0
    assert site["statuses"][-1]["rejected_versions"] == []
    assert "rollout 1.0.0 -&gt; 1.1.0 soaking: 1.0.0 here (ring 1)" in page
    assert "rollout 1.0.0 -&gt; 1.1.0 soaking: 1.1.0 here (ring 0)" in site_page


def test_the_champion_gate_stages_a_promotion_and_refuses_a_second_while_one_soaks(
    fleet: Fleet, demo_bundle_dir: Path
) -> None:
    from edgeloop.domain.promotion import PromotionDecision
    from edgeloop.service_layer.rollouts import ChampionPromotion

    for version in ("1.1.0", "1.2.0"):
        register_variant(fleet.registry, demo_bundle_dir, version, fleet.signer)
    gate = ChampionPromotion(fleet.registry, fleet.rollouts._signing, fleet.rollouts)
    found = fleet.registry.champion(MODEL_NAME)
    assert found is not None
    staged = gate.promote(PromotionDecision("promoted", ("better",)), found[0], found[1], "1.1.0", "run 1")
    assert staged.outcome == "promoted"
    assert staged.reasons[-1] == "staged rollout: 1.1.0 starts on ring 0, 1.0.0 serves elsewhere"
    assert fleet.registry.champion(MODEL_NAME)[0].version == "1.0.0"  # type: ignore[index]
    again = gate.promote(PromotionDecision("promoted", ("better",)), found[0], found[1], "1.2.0", "run 2")
    assert again.outcome == "rejected"
    assert again.reasons[-1] == f"not promoted: {MODEL_NAME}: the rollout of 1.1.0 is still soaking"


def test_a_site_the_site_fit_excludes_keeps_its_version_through_the_whole_rollout(
    fleet: Fleet, demo_bundle_dir: Path
) -> None:
    from edgeloop.domain.promotion import PromotionDecision
    from edgeloop.service_layer.line_champions import LineChampion
    from edgeloop.service_layer.rollouts import ChampionPromotion

    register_variant(fleet.registry, demo_bundle_dir, "1.1.0", fleet.signer)
    gate = ChampionPromotion(fleet.registry, fleet.rollouts._signing, fleet.rollouts)
    found = fleet.registry.champion(MODEL_NAME)
    assert found is not None
    champion = LineChampion(found[0], found[1], OnnxModel.load(demo_bundle_dir))
    worse = {"site-3": "worse on its own rows: roc_auc 0.61 against 0.83 (200 rows)"}
    decision = PromotionDecision("promoted", ("better",))
    assert gate.promote_line(decision, champion, MODEL_NAME, "1.1.0", "run 1", worse).outcome == "promoted"
    assert fleet.rollouts.status(MODEL_NAME).excluded == worse  # type: ignore[union-attr]
    for _ring in range(3):  # site-3's ring passes with it still on 1.0.0
        fleet.poll()
        fleet.report()
        fleet.watch.run(MODEL_NAME)
    assert fleet.rollouts.status(MODEL_NAME).phase == "complete"  # type: ignore[union-attr]
    fleet.poll()
    assert fleet.serving() == {"site-1": "1.1.0", "site-2": "1.1.0", "site-3": "1.0.0"}


def test_the_retraining_timer_advances_a_soaked_ring(
    fleet: Fleet, demo_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from edgeloop.bootstrap.rollouts import build_rollout_timer
    from functions import dependencies
    from functions.cloud_retraining import schedule_retraining

    monkeypatch.setenv("CLOUD_SQLITE_PATH", str(fleet.store_path))
    register_variant(fleet.registry, demo_bundle_dir, "1.1.0", fleet.signer)
    promote(fleet, "1.1.0")
    fleet.poll()
    fleet.report()
    trainer = RecordingTrainer()
    dependencies.trainer.override(trainer)
    dependencies.rollout_step.override(build_rollout_timer(fleet.settings))
    try:
        schedule_retraining(SimpleNamespace(past_due=False))  # type: ignore[arg-type]
    finally:
        dependencies.trainer.override(None)
        dependencies.rollout_step.override(None)
    assert fleet.rollouts.status(MODEL_NAME).ring == 1  # type: ignore[union-attr]
    assert trainer.reasons == ["schedule"]  # the run is still submitted
