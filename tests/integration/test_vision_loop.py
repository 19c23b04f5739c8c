"""The loop for images, on an Azurite of this module's own: frames scored and labelled at a site,
let out by its policy, retrain the vision model, whose new signed version the site then serves.

Real parts: the in-process scoring app (the vision demo's recipe, trained small here; onnxruntime;
the SQLite outbox and frame store; Pillow), its frame upload timer and model delivery, the edge's
compliance filter (the outbox's entries packed as the relay packs them), the retraining run
(build_retraining: the recipe in its child process, Ed25519 signing, the champion gate). An
allowing site's labelled frames are exactly what the run reports and trains on, and the site
swaps in the promoted version after its golden check on frames. A denying site's labels reach
the cloud, its frames do not, and the run says so. The gate's margin is wide on purpose: this is
about the data's path, not about whether eight frames make a better model.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from support.image_files import encoded
from support.scoring_settings import API_KEY, scoring_settings
from support.waiting import wait_until

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.bootstrap.edge import build_insight_filter
from edgeloop.bootstrap.retraining import build_registry, build_retraining, publish_first_champion
from edgeloop.config.cameras import CameraSettings
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.detection_feedback import right_detections
from edgeloop.domain.detection_labels import MAX_MISSED, DetectionLabel, MissedDefect
from edgeloop.domain.detection_task import Detection
from edgeloop.domain.records import utc_now
from edgeloop.ports import RetrainRequest
from edgeloop.recipes import detection_images, surface_defects, surface_detection, surface_images
from edgeloop.training.bundle import write_bundle
from edgeloop.training.model_card import CARD_FILE
from edgeloop.wire.packing import pack_items
from edgeloop.wire.storage_layout import FRAMES_CONTAINER
from localdev.azurite import REPO_ROOT, Azurite
from scoring_app import create_app
from tools.example_models import manifest_document

MODEL = surface_defects.MODEL_NAME
ADMIN_KEY = "vision-loop-admin-key-0123456789"
ALLOWING, DENYING = "plant-allows", "plant-denies"
FRAMES, LABELS = surface_images.generate([2, 2, 2, 2], seed=21)  # two of each class, 64 x 64
WAIT = 60.0
DETECTION_ACCOUNTS = ("detection", "detection-denied")


@dataclass(frozen=True)
class Cloud:
    azurite: Azurite
    account: str
    signing_key: str
    public_key: str
    model: str = MODEL
    min_new_labels: int = len(LABELS)
    max_label_shift: float | None = None

    @property
    def connection(self) -> str:
        return self.azurite.connection_string(self.account)

    def retraining(self) -> RetrainingSettings:
        return RetrainingSettings(
            CloudStorage=self.connection,  # type: ignore[arg-type]
            MODEL_NAME=self.model,
            RETRAIN_MIN_NEW_LABELS=self.min_new_labels,
            RETRAIN_PROMOTION_MARGIN=1.0,
            RETRAIN_MAX_LABEL_SHIFT=self.max_label_shift,
            MODEL_SIGNING_PRIVATE_KEY=self.signing_key,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """This module's own: each scenario's cloud account holds only what that scenario put there."""
    emulator = Azurite.on_free_ports(tmp_path_factory.mktemp("azurite"))
    for account in ("denied", *DETECTION_ACCOUNTS):
        emulator.add_account(account)
    with emulator:
        yield emulator


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vision demo's recipe on 40 generated images of each class (its recipe block says so)."""
    parameters = {"base_per_class": 40}
    result = surface_defects.train(surface_defects.base_dataset(parameters), parameters)
    out = tmp_path_factory.mktemp("champion") / MODEL
    write_bundle(out, manifest_document(result, MODEL, "1"), {"model.onnx": result.onnx_model})
    return out


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped policy, with one site allowed to let frames out (every frame worth a label)."""
    text = (REPO_ROOT / "policies" / "compliance.yaml").read_text(encoding="utf-8")
    rule = (
        f"frames:\n  sites:\n    {ALLOWING}:\n      upload: allow\n      max_frames_per_day: 100\n"
        "      max_bytes_per_day: 10000000\n      worth_a_label: {threshold: 0.5, band: 1.0}\n"
    )
    assert "frames:\n  sites: {}\n" in text
    path = tmp_path_factory.mktemp("policy") / "compliance.yaml"
    path.write_text(text.replace("frames:\n  sites: {}\n", rule), encoding="utf-8")
    return path


@contextlib.contextmanager
def site_app(tmp_path: Path, site: str, champion: Path, cloud: Cloud, policy: Path) -> Iterator[TestClient]:
    """The site's scoring app, running: frames kept and let out per ``policy``, models delivered."""
    settings = scoring_settings(tmp_path, champion, site_id=site, admin_api_key=ADMIN_KEY)
    environment = {
        "SCORING_FRAMES_DIR": str(tmp_path / "frames"),
        "EDGELOOP_COMPLIANCE_POLICY": str(policy),
        "SCORING_FRAME_UPLOAD_STORAGE": cloud.connection,
        "SCORING_FRAME_UPLOAD_SECONDS": "0.2",
        "SCORING_MODEL_SIGNING_PUBLIC_KEY": cloud.public_key,
        "SCORING_MODEL_REGISTRY_STORAGE": cloud.connection,
        "SCORING_MODEL_NAME": cloud.model,
        "SCORING_MODEL_POLL_SECONDS": "0.2",
        "SCORING_MODEL_CACHE_DIR": str(tmp_path / "model-cache"),
    }
    with pytest.MonkeyPatch.context() as patch:  # read as the app starts
        for name, value in environment.items():
            patch.setenv(name, value)
        with TestClient(create_app(settings, CameraSettings())) as client:
            yield client


def score_and_label(client: TestClient) -> list[dict[str, Any]]:
    """Score the frames (one request), wait until they are kept, label each with its true class."""
    files = [("images", (f"part-{i}.png", encoded(frame), "image/png")) for i, frame in enumerate(FRAMES)]
    answer = client.post("/api/v1/score/images", files=files, headers={"X-API-Key": API_KEY})
    assert answer.status_code == 200, answer.text
    label_of = {result["insight_id"]: LABELS[i] for i, result in enumerate(answer.json()["results"])}
    listing: list[dict[str, Any]] = []

    def all_kept() -> bool:
        listing[:] = client.get("/api/v1/admin/frames?limit=100", headers={"X-Admin-Key": ADMIN_KEY}).json()[
            "frames"
        ]
        return len(listing) == len(FRAMES)

    wait_until(all_kept, WAIT, "every scored frame kept")
    for frame in listing:
        path = f"/api/v1/admin/frames/{frame['frame_id']}/label"
        labelled = client.post(
            path, json={"label": label_of[frame["insight_id"]]}, headers={"X-Admin-Key": ADMIN_KEY}
        )
        assert labelled.status_code == 200, labelled.text
    return listing


def upload_decisions(client: TestClient) -> dict[str, float]:
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "edgeloop_frame_upload_decisions_total":
                found[sample.labels["outcome"]] = sample.value
    return found


def forward_records(client: TestClient, cloud: Cloud, policy: Path) -> None:
    """What the relay and the edge Function do: the outbox's entries through the real filter."""
    outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    entries = outbox.claim(100, 60.0)
    settings = EdgeFunctionSettings(
        EdgeStorage=cloud.azurite.connection_string("edge"),
        CloudStorage=cloud.connection,
        ServiceBusConnection=cloud.connection,
        EDGELOOP_SITE_HMAC_KEY="vision-loop-site-key-0123456789",
        EDGELOOP_COMPLIANCE_POLICY=str(policy),
        EDGELOOP_INSIGHTS_TOPIC=f"t{uuid.uuid4().hex[:12]}",
    )
    insight_filter = build_insight_filter(settings)
    for body, _ in pack_items([item for entry in entries for item in entry.items]):
        assert insight_filter.process_message(body).quarantined == 0
    outbox.mark_sent([entry.entry_id for entry in entries])


def retrain(cloud: Cloud) -> dict[str, Any]:
    run = build_retraining(cloud.retraining()).run(RetrainRequest(uuid.uuid4().hex[:12], utc_now(), "test"))
    return run.document


def served(client: TestClient) -> str | None:
    delivery = client.get("/readyz").json()["checks"]["model_delivery"]
    return None if delivery.get("serving") is None else str(delivery["serving"])


def frame_documents(cloud: Cloud) -> list[dict[str, Any]]:
    blobs = AzureBlobStore.from_connection_string(cloud.connection)
    names = [name for name in blobs.list_names(FRAMES_CONTAINER) if name.endswith(".json")]
    return [json.loads(blobs.get(FRAMES_CONTAINER, name)) for name in names]


def new_cloud(azurite: Azurite, account: str, champion: Path, **line: Any) -> Cloud:
    """A cloud account whose registry holds ``champion`` as version 1 (``line``: Cloud's model fields)."""
    private, public = generate_key_pair()
    cloud = Cloud(azurite, account, private, public, **line)
    assert publish_first_champion(cloud.retraining(), champion) == ("1", True)  # golden frames signed
    return cloud


def test_labelled_frames_the_policy_lets_out_train_a_version_the_site_then_serves(
    azurite: Azurite, champion: Path, policy: Path, tmp_path: Path
) -> None:
    cloud = new_cloud(azurite, "cloud", champion)
    with site_app(tmp_path, ALLOWING, champion, cloud, policy) as client:
        listing = score_and_label(client)
        wait_until(lambda: len(frame_documents(cloud)) == len(FRAMES), WAIT, "every frame uploaded")
        forward_records(client, cloud, policy)

        report = retrain(cloud)
        assert report["frames"]["labelled_frames"] == len(FRAMES), report["frames"]
        assert report["frames"]["sites"] == {ALLOWING: len(FRAMES)}
        assert report["frames"]["labels_without_frame"] == 0
        assert report["data"]["new_labelled_rows"] == len(FRAMES)
        assert report["data"]["new_class_rows"] == {name: 2 for name in surface_images.CLASSES}
        assert report["outcome"] == "promoted", report["decision"]
        assert {doc["insight_id"] for doc in frame_documents(cloud)} == {f["insight_id"] for f in listing}

        version = report["version"]
        card = build_registry(cloud.retraining()).read(MODEL, version, CARD_FILE).decode()
        assert f"labelled frames the sites let out: {len(FRAMES)} ({ALLOWING}: {len(FRAMES)})" in card
        wait_until(lambda: served(client) == version, WAIT, f"the site serving {version}")
        files = [("images", ("part.png", encoded(FRAMES[0]), "image/png"))]
        answer = client.post("/api/v1/score/images", files=files, headers={"X-API-Key": API_KEY})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"]["version"] == version


def test_with_a_denying_policy_no_frame_reaches_training_and_the_run_says_so(
    azurite: Azurite, champion: Path, policy: Path, tmp_path: Path
) -> None:
    cloud = new_cloud(azurite, "denied", champion)
    with site_app(tmp_path, DENYING, champion, cloud, policy) as client:
        score_and_label(client)
        wait_until(
            lambda: upload_decisions(client).get("policy_denies") == len(FRAMES), WAIT, "every frame refused"
        )
        forward_records(client, cloud, policy)
        assert frame_documents(cloud) == []

        report = retrain(cloud)
        assert report["frames"]["labelled_frames"] == 0
        assert report["frames"]["sites"] == {}
        assert report["frames"]["labels_without_frame"] == len(FRAMES)  # the labels came, the frames stayed
        assert "default deny" in report["frames"]["note"]
        assert report["outcome"] == "skipped", report["decision"]
        assert served(client) == "1"


# Detection: the surface-detection demo. An operator's verdicts on a frame's boxes are its label.
DETECTION = surface_detection.MODEL_NAME
DETECTION_FRAMES, DETECTION_TRUTH = detection_images.generate(10, seed=31)
ADMIN = {"X-Admin-Key": ADMIN_KEY}
DETECTION_LINE: dict[str, Any] = {"model": DETECTION, "min_new_labels": 1, "max_label_shift": 100.0}


@pytest.fixture(scope="module")
def detection_champion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The detection demo's recipe on 100 generated images (its recipe block says so: the base again)."""
    parameters = {"base_images": 100}
    result = surface_detection.train(surface_detection.base_dataset(parameters), parameters)
    out = tmp_path_factory.mktemp("detection-champion") / DETECTION
    write_bundle(out, manifest_document(result, DETECTION, "1"), {"model.onnx": result.onnx_model})
    return out


def verdicts(detections: list[dict[str, Any]], truth: Any) -> str:
    """What an operator says of each box: accept where it finds a true defect, else reject; then
    draws each true defect that no box found (a missed defect, in fractions of the picture)."""
    found = [Detection(d["class"], d["score"], tuple(d["box"])) for d in detections]
    size = detection_images.SIZE
    judged = ["accept" if right_detections([d], truth, size, size) else "reject" for d in found]
    missed = [
        MissedDefect(name, tuple(round(corner / size, 4) for corner in box))  # type: ignore[arg-type]
        for name, box in truth
        if right_detections(found, [(name, box)], size, size) == 0
    ]
    return DetectionLabel(tuple(v == "accept" for v in judged), tuple(missed[:MAX_MISSED])).to_text()


def score_and_judge(client: TestClient) -> dict[str, str]:
    """Score the frames, wait until kept, judge each box of the frames that have some: insight -> verdicts."""
    files = [("images", (f"part-{i}.png", encoded(f), "image/png")) for i, f in enumerate(DETECTION_FRAMES)]
    answer = client.post("/api/v1/score/images", files=files, headers={"X-API-Key": API_KEY})
    assert answer.status_code == 200, answer.text
    judged = {
        result["insight_id"]: verdicts(result["detections"], DETECTION_TRUTH[i])
        for i, result in enumerate(answer.json()["results"])
        if result["detections"]
    }
    assert len(judged) >= 4, "most generated frames hold a defect the champion finds"
    assert any(";" in label for label in judged.values()), "some defects the champion misses: drawn"
    listing: list[dict[str, Any]] = []

    def all_kept() -> bool:
        path = "/api/v1/admin/frames?limit=100"
        listing[:] = client.get(path, headers={"X-Admin-Key": ADMIN_KEY}).json()["frames"]
        return len(listing) == len(DETECTION_FRAMES)

    wait_until(all_kept, WAIT, "every scored frame kept")
    first = next(frame for frame in listing if frame["insight_id"] in judged)
    too_many = {"label": ",".join(["accept"] * (first["detections"] + 1))}
    refused = client.post(f"/api/v1/admin/frames/{first['frame_id']}/label", json=too_many, headers=ADMIN)
    assert refused.status_code == 422, refused.text  # one verdict per box, or nothing is recorded
    assert "label" in refused.text
    for frame in listing:
        if frame["insight_id"] in judged:
            path = f"/api/v1/admin/frames/{frame['frame_id']}/label"
            label = {"label": judged[frame["insight_id"]]}
            labelled = client.post(path, json=label, headers={"X-Admin-Key": ADMIN_KEY})
            assert labelled.status_code == 200, labelled.text
    return judged


def test_verdicts_on_detected_frames_the_policy_lets_out_retrain_the_detector_the_site_then_serves(
    azurite: Azurite, detection_champion: Path, policy: Path, tmp_path: Path
) -> None:
    cloud = new_cloud(azurite, "detection", detection_champion, **DETECTION_LINE)
    with site_app(tmp_path, ALLOWING, detection_champion, cloud, policy) as client:
        judged = score_and_judge(client)
        # Frames without a detection score nothing near the threshold: not worth a label, kept on site.
        wait_until(lambda: len(frame_documents(cloud)) == len(judged), WAIT, "every judged frame uploaded")
        forward_records(client, cloud, policy)

        report = retrain(cloud)
        assert report["frames"]["labelled_frames"] == len(judged), report["frames"]
        assert report["frames"]["sites"] == {ALLOWING: len(judged)}
        assert report["data"]["usable_new_rows"] == len(judged)  # missed boxes and all, every label read
        assert report["data"]["base_rows"] == 100
        assert set(report["metrics"]["challenger"]) == {"precision", "recall", "f1"}
        assert report["evaluation"]["primary_metric"] == "f1"
        assert report["outcome"] == "promoted", report["decision"]

        version = report["version"]
        card = build_registry(cloud.retraining()).read(DETECTION, version, CARD_FILE).decode()
        assert f"labelled frames the sites let out: {len(judged)} ({ALLOWING}: {len(judged)})" in card
        wait_until(
            lambda: served(client) == version, WAIT, f"the site serving {version}"
        )  # golden frames pass
        files = [("images", ("part.png", encoded(DETECTION_FRAMES[0]), "image/png"))]
        answer = client.post("/api/v1/score/images", files=files, headers={"X-API-Key": API_KEY})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"]["version"] == version


def test_verdicts_at_a_denying_site_reach_the_cloud_without_their_frames_and_nothing_is_retrained(
    azurite: Azurite, detection_champion: Path, policy: Path, tmp_path: Path
) -> None:
    cloud = new_cloud(azurite, "detection-denied", detection_champion, **DETECTION_LINE)
    with site_app(tmp_path, DENYING, detection_champion, cloud, policy) as client:
        judged = score_and_judge(client)
        denied = lambda: upload_decisions(client).get("policy_denies") == len(DETECTION_FRAMES)  # noqa: E731
        wait_until(denied, WAIT, "every frame refused")
        forward_records(client, cloud, policy)
        assert frame_documents(cloud) == []

        report = retrain(cloud)
        assert report["frames"]["labelled_frames"] == 0
        assert report["frames"]["labels_without_frame"] == len(judged)  # the verdicts came, the frames stayed
        assert "default deny" in report["frames"]["note"]
        assert report["outcome"] == "skipped", report["decision"]
        assert served(client) == "1"
