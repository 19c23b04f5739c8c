"""A challenger image model in shadow, on real parts: the vision demos' bundles and tiny image models
in onnxruntime, the scoring app's upload route (in process), a file camera decoded by PyAV, the
SQLite outbox, the site's compliance policy, and the global SQLite store with the shadow report
over what was recorded.

A classification shadow of the classification demo (``surface-defects``) and a detection shadow of
the detection demo (``surface-detection``): the same bundle, so every frame must agree, and a
tiny model of another input size (8x8, 16x16), so the frames must have been prepared for the
shadow's own manifest. Waits are on conditions (the shadow queue drained, the file read)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.bundles import build_defect_bundle
from support.cameras import write_test_video
from support.detection_bundles import tiny_detection_bundle
from support.example_bundles import example_bundle
from support.image_bundles import surface_bundle, tiny_image_bundle
from support.image_files import encoded
from support.waiting import wait_until

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.pyav_camera import PyAvConnector
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.bootstrap.cameras import CameraImageScoring, site_frame_scorer
from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.config.scoring import ScoringSettings
from edgeloop.domain.cameras import MAX_BATCH_SIZE, Backoff, CameraSpec, CameraState, FrameStamp
from edgeloop.domain.compliance import PolicyEngine
from edgeloop.domain.images import ImageBounds, ImageSource
from edgeloop.domain.records import SHADOW_INSIGHT_KIND, FeedbackRecord, record_from_wire, utc_now
from edgeloop.domain.shadow_records import ShadowInsightRecord
from edgeloop.ports.cameras import RgbFrame
from edgeloop.recipes import surface_images
from edgeloop.service_layer.camera_worker import CameraWorker
from edgeloop.service_layer.image_scoring import ImageScoringService, ScoredImages
from edgeloop.service_layer.shadow_report import shadow_report
from edgeloop.service_layer.shadow_scoring import ShadowScorer, ShadowSlot
from scoring_app import create_app

API_KEY = "test-key-0123456789"
SITE = "site-vision"
POLICY = Path(__file__).resolve().parents[2] / "policies" / "compliance.yaml"
FAST_BACKOFF = Backoff(initial_seconds=0.1, max_seconds=0.5, multiplier=2.0, jitter=0.2)
FRAMES, _ = surface_images.generate([1, 1, 1, 1], seed=2024)


@pytest.fixture(scope="module")
def bundle_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("image-shadow")
    return {
        "surface-defects": surface_bundle(root),
        "surface-detection": example_bundle("surface-detection", root),
        "tiny-vision": tiny_image_bundle(root / "tiny-vision"),
        "tiny-detection": tiny_detection_bundle(root / "tiny-detection"),
    }


@pytest.fixture(scope="module")
def bundles(bundle_dirs: dict[str, Path]) -> dict[str, OnnxModel]:
    return {name: OnnxModel.load(path) for name, path in bundle_dirs.items()}


@pytest.fixture
def client(tmp_path: Path, bundle_dirs: dict[str, Path]) -> Iterator[TestClient]:
    settings = ScoringSettings(
        model_dir=bundle_dirs["surface-defects"],
        outbox_path=tmp_path / "outbox.sqlite3",
        api_key=API_KEY,
        api_key_file=tmp_path / "api-key",
        relay_enabled=False,
        site_id=SITE,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def shadow_records(outbox: SqliteOutbox) -> list[ShadowInsightRecord]:
    records = [record_from_wire(raw) for raw in reversed(outbox.recent(SHADOW_INSIGHT_KIND, 1000))]
    assert all(isinstance(record, ShadowInsightRecord) for record in records)
    return records  # type: ignore[return-value]


def expected_outputs(model: OnnxModel, frames: Sequence[RgbFrame], tmp_path: Path) -> list[dict[str, Any]]:
    """What ``model`` served alone records for ``frames``: the reference a shadow must match."""
    outbox = SqliteOutbox(tmp_path / f"reference-{model.manifest.name}.sqlite3", capacity=10_000)
    try:
        service = ImageScoringService(
            outbox, SITE, lambda: model, PillowDecoder(), ImageBounds(max_images=64)
        )
        scored = service.score_frames(list(frames), ImageSource.camera("reference"))
    finally:
        outbox.close()
    return [{"outputs": image.outputs, "prediction": image.prediction} for image in scored.images]


@pytest.mark.parametrize("shadow_name", ["surface-defects", "tiny-vision"])
def test_uploads_are_shadowed_by_an_image_classifier_for_its_own_input_spec(
    client: TestClient, bundles: dict[str, OnnxModel], shadow_name: str, tmp_path: Path
) -> None:
    components = client.app.state.ctx.components  # type: ignore[attr-defined]
    shadow = bundles[shadow_name]
    components.shadow.slot.set(shadow)
    files = [("images", (f"part-{i}.png", encoded(frame), "image/png")) for i, frame in enumerate(FRAMES)]
    answer = client.post("/api/v1/score/images", files=files, headers={"X-API-Key": API_KEY})
    assert answer.status_code == 200, answer.text
    components.shadow.drain()
    results = answer.json()["results"]
    records = shadow_records(components.outbox)
    assert [r.insight_id for r in records] == [result["insight_id"] for result in results]
    assert all(r.model.version == shadow.manifest.version and r.model.task == "multiclass" for r in records)
    assert [r.served.prediction for r in records] == [result["prediction"] for result in results]
    # PNG is lossless: the shadow scored the decoded frames, prepared for its own manifest.
    expected = expected_outputs(shadow, list(FRAMES), tmp_path)
    assert [{"outputs": dict(r.outputs), "prediction": r.prediction} for r in records] == expected
    if shadow_name == "surface-defects":  # the same model: the same answer
        assert [r.prediction for r in records] == [r.served.prediction for r in records]
    wire = records[0].to_wire()
    assert {"inputs", "context", "file_name"}.isdisjoint(wire)  # derived results only, never a pixel
    assert components.shadow.stats().rows == len(FRAMES)


class KeptFrames:
    """A ``FrameScorer`` in front of the camera's image scoring that keeps what it was given."""

    def __init__(self, scoring: CameraImageScoring) -> None:
        self.scoring, self.frames, self.scored = scoring, list[RgbFrame](), list[ScoredImages]()

    def score_batches(self, batches: Sequence[Sequence[RgbFrame]], stamp: FrameStamp) -> ScoredImages:
        scored = self.scoring.score_batches(batches, stamp)
        self.frames += [frame for frames in batches for frame in frames]
        self.scored.append(scored)
        return scored


def camera_shadowed(
    served: OnnxModel, shadow: OnnxModel, video: Path, outbox: SqliteOutbox
) -> tuple[KeptFrames, ShadowScorer]:
    """A file camera read to its end, its frames scored by ``served`` and shadowed by ``shadow``."""
    scorer = ShadowScorer(outbox, SITE, ShadowSlot(shadow)).start()
    images = ImageScoringService(
        outbox, SITE, lambda: served, PillowDecoder(), ImageBounds(max_images=MAX_BATCH_SIZE),
        shadow=scorer.offer_frames,
    )  # fmt: skip
    kept = KeptFrames(CameraImageScoring(images))
    camera = CameraSpec("line-1", f"file://{video}", sample_fps=10, batch_size=4)
    connector = PyAvConnector(open_timeout=5.0, read_timeout=5.0)
    worker = CameraWorker(camera, connector, kept, FAST_BACKOFF, batch_max_wait=5.0, group_batches=2)
    worker.start()
    try:
        wait_until(lambda: worker.status().state is CameraState.ENDED, 30.0, "the file read to its end")
    finally:
        worker.stop()
    scorer.drain()
    scorer.stop()
    return kept, scorer


@pytest.mark.parametrize("shadow_name", ["surface-detection", "tiny-detection"])
def test_a_file_camera_s_frames_are_shadowed_by_a_detection_model_and_reported(
    bundles: dict[str, OnnxModel], shadow_name: str, tmp_path: Path
) -> None:
    served, shadow = bundles["surface-detection"], bundles[shadow_name]
    video = write_test_video(tmp_path / "clip.mp4", frames=24, fps=10, width=96, height=96)
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite3", capacity=10_000)
    try:
        kept, scorer = camera_shadowed(served, shadow, video, outbox)
        records = shadow_records(outbox)
    finally:
        outbox.close()
    images = [image for scored in kept.scored for image in scored.images]
    assert len(images) == len(kept.frames) == 24
    assert [r.insight_id for r in records] == [image.insight_id for image in images]
    assert [r.served.prediction for r in records] == [image.prediction for image in images]
    assert all(isinstance(r.prediction, list) and r.model.task == "detection" for r in records)
    expected = expected_outputs(shadow, kept.frames, tmp_path)  # the frames as decoded, never again
    assert [{"outputs": dict(r.outputs), "prediction": r.prediction} for r in records] == expected
    assert (scorer.stats().rows, scorer.stats().dropped_rows) == (24, 0)
    policy = PolicyEngine(load_compliance_policy(POLICY), b"k" * 32)  # the site's default policy
    assert [policy.decide(r.to_wire()).record for r in records] == [r.to_wire() for r in records]

    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    try:
        store.upsert_shadow(records)
        first = images[0]
        verdicts = ",".join("accept" for _ in range(len(first.prediction) // 6))
        label = verdicts or ";spot@0.1,0.1,0.3,0.3"
        store.upsert([FeedbackRecord("f" * 32, first.insight_id, SITE, label, utc_now())])
        # A site's shadow insights are kept per model line: the shadow's (the tiny one is its own).
        (summary,) = shadow_report(store, shadow.manifest.name, [SITE])
    finally:
        store.close()
    assert (summary.rows, summary.task) == (24, "detection")
    if shadow_name == "surface-detection":
        assert summary.agreement_rate == 1.0
        assert summary.labelled == 1
        assert summary.shadow_accuracy == summary.served_accuracy
    else:
        agreed = sum(r.prediction == r.served.prediction == [] for r in records)
        assert summary.agreement_rate == pytest.approx(agreed / 24)


def test_a_shadow_taking_rows_fails_the_frames_counted_and_the_answer_stands(
    bundles: dict[str, OnnxModel], tmp_path: Path
) -> None:
    # Delivery refuses such a shadow (test_shadow_on_azurite); a champion of another kind swapped
    # in later still meets the worker's own check.
    tabular = OnnxModel.load(build_defect_bundle(tmp_path / "rows", version="0.2.0", seed=11))
    served = bundles["surface-defects"]
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite3", capacity=10_000)
    try:
        scorer = ShadowScorer(outbox, SITE, ShadowSlot(tabular)).start()
        images = ImageScoringService(
            outbox, SITE, lambda: served, PillowDecoder(), shadow=scorer.offer_frames
        )
        scored = images.score_frames(list(FRAMES), ImageSource.camera("line-1"))
        scorer.drain()
        scorer.stop()
        assert len(outbox.recent("insight", 100)) == len(scored.images) == len(FRAMES)
        assert shadow_records(outbox) == []
    finally:
        outbox.close()
    stats = scorer.stats()
    assert (stats.rows, stats.failed_rows) == (0, len(FRAMES))
    assert stats.last_error is not None
    assert "takes rows, not images" in stats.last_error


def test_frames_beyond_the_byte_bound_are_dropped_and_counted_without_waiting(
    bundles: dict[str, OnnxModel], tmp_path: Path
) -> None:
    served = bundles["surface-defects"]
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite3", capacity=10_000)
    try:
        frames = list(FRAMES)
        bound = sum(frame.nbytes for frame in frames)  # one batch's frames fit, a second's do not
        scorer = ShadowScorer(outbox, SITE, ShadowSlot(served), max_frame_bytes=bound)  # not started
        images = ImageScoringService(
            outbox, SITE, lambda: served, PillowDecoder(), shadow=scorer.offer_frames
        )
        for _ in range(3):
            images.score_frames(frames, ImageSource.camera("line-1"))
        assert scorer.stats().queued == 1
        assert scorer.stats().dropped_rows == 2 * len(frames)
        scorer.start()
        scorer.drain()  # its frames handled, the bound is free again
        images.score_frames(frames, ImageSource.camera("line-1"))
        scorer.drain()
        scorer.stop()
        assert (scorer.stats().rows, scorer.stats().dropped_rows) == (2 * len(frames), 2 * len(frames))
    finally:
        outbox.close()


def test_the_site_s_camera_scorer_offers_its_frames_to_the_site_s_shadow(
    client: TestClient, bundles: dict[str, OnnxModel]
) -> None:
    components = client.app.state.ctx.components  # type: ignore[attr-defined]
    components.shadow.slot.set(bundles["surface-defects"])
    scorer = site_frame_scorer(components)  # as SCORING_CAMERAS starts it
    frames = list(FRAMES)
    stamp = FrameStamp("line-1", (0.0,) * len(frames))
    scored = scorer.score_batches([frames[:2], frames[2:]], stamp)
    assert isinstance(scored, ScoredImages)
    components.shadow.drain()
    records = shadow_records(components.outbox)
    assert [r.insight_id for r in records] == [image.insight_id for image in scored.images]
    assert [r.prediction for r in records] == [image.prediction for image in scored.images]
