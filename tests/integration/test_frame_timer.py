"""The site's frame timer as the scoring app wires it (edgeloop.bootstrap.frames): kept frames go
to Azurite's cloud account as the policy allows, the figures show in /metrics, one worker runs
the timer, and a bad frames rule stops the start naming the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.storage.blob import ContainerClient
from fastapi.testclient import TestClient
from support.frames import canary, canary_frame
from support.scoring_settings import scoring_settings
from support.waiting import wait_until

from edgeloop.bootstrap.frames import start_site_frames
from edgeloop.config.frames import FrameSettings
from edgeloop.domain.compliance import PolicyError
from edgeloop.wire.storage_layout import FRAMES_CONTAINER
from localdev.azurite import Azurite
from scoring_app.app import create_app

REPO_ROOT = Path(__file__).resolve().parents[2]


def policy_file(tmp_path: Path, rule: dict[str, Any]) -> Path:
    document = yaml.safe_load((REPO_ROOT / "policies" / "compliance.yaml").read_text(encoding="utf-8"))
    document["frames"] = {"sites": {"plant-7": rule}}
    path = tmp_path / "compliance.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


ONE_A_DAY = {
    "upload": "allow",
    "max_frames_per_day": 1,
    "max_bytes_per_day": 10**7,
    "worth_a_label": {"threshold": 0.5, "band": 0.1},
}


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else -1.0


def test_the_scoring_app_uploads_what_the_policy_allows_and_counts_it_in_metrics(
    azurite: Azurite, tmp_path: Path, defect_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORING_FRAMES_DIR", str(tmp_path / "frames"))
    monkeypatch.setenv("SCORING_FRAME_UPLOAD_STORAGE", azurite.connection_string("cloud"))
    monkeypatch.setenv("SCORING_FRAME_UPLOAD_SECONDS", "0.05")
    monkeypatch.setenv("EDGELOOP_COMPLIANCE_POLICY", str(policy_file(tmp_path, ONE_A_DAY)))
    first, second = canary(), canary()
    with TestClient(create_app(scoring_settings(tmp_path, defect_bundle_dir))) as client:
        frames = client.app.state.ctx.frames  # type: ignore[attr-defined]
        stored = [frames.store.keep(canary_frame(mark)) for mark in (first, second)]

        def scrape() -> str:
            return str(client.get("/metrics").text)

        wait_until(
            lambda: 'edgeloop_frame_upload_decisions_total{outcome="quota_reached"} 1.0' in scrape(),
            30,
            "the frame timer to upload one frame and refuse the second (quota)",
        )
        text = scrape()
        assert 'edgeloop_frame_upload_decisions_total{outcome="uploaded"} 1.0' in text
        assert metric(text, "edgeloop_frame_timer_running") == 1.0
        assert metric(text, "edgeloop_frames_kept") == 2.0
    container = ContainerClient.from_connection_string(azurite.connection_string("cloud"), FRAMES_CONTAINER)
    names = [blob.name for blob in container.list_blobs()]
    assert sum(stored[0].frame_id in name for name in names) == 2  # the frame and its result document
    assert not any(stored[1].frame_id in name for name in names)


def test_a_site_without_a_frames_dir_keeps_no_frames(
    tmp_path: Path, defect_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCORING_FRAMES_DIR", raising=False)
    with TestClient(create_app(scoring_settings(tmp_path, defect_bundle_dir))) as client:
        assert client.app.state.ctx.frames is None  # type: ignore[attr-defined]
        assert "edgeloop_frames_kept" not in client.get("/metrics").text


def test_a_bad_frames_rule_stops_the_start_naming_the_field(
    tmp_path: Path, defect_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORING_FRAMES_DIR", str(tmp_path / "frames"))
    bad = {**ONE_A_DAY, "max_frames_per_day": "lots"}
    monkeypatch.setenv("EDGELOOP_COMPLIANCE_POLICY", str(policy_file(tmp_path, bad)))
    with (
        pytest.raises(PolicyError, match=r"compliance\.yaml: frames\.sites\.plant-7\.max_frames_per_day: "),
        TestClient(create_app(scoring_settings(tmp_path, defect_bundle_dir))),
    ):
        pass


def test_one_process_per_volume_runs_the_timer(tmp_path: Path) -> None:
    settings = FrameSettings.model_validate(
        {
            "frames_dir": tmp_path / "frames",
            "EDGELOOP_COMPLIANCE_POLICY": REPO_ROOT / "policies" / "compliance.yaml",
            "frame_upload_seconds": 0.05,
        }
    )
    first = start_site_frames("site-timer", settings)
    second = start_site_frames("site-timer", settings)
    assert first is not None
    assert second is not None
    try:
        assert first.metrics()["timer_running"] == 1.0
        assert second.metrics()["timer_running"] == 0.0
        assert first.upload is None  # no SCORING_FRAME_UPLOAD_STORAGE: retention only, no uploads
        second.store.keep(canary_frame(canary()))  # the second process keeps frames all the same
        assert first.store.kept_totals()[0] == 1
    finally:
        first.close()
        second.close()
    third = start_site_frames("site-timer", settings)  # the lock went with the first
    assert third is not None
    try:
        assert third.metrics()["timer_running"] == 1.0
    finally:
        third.close()


def test_the_timer_applies_the_age_bound_without_new_keeps(tmp_path: Path) -> None:
    settings = FrameSettings.model_validate(
        {
            "frames_dir": tmp_path / "frames",
            "EDGELOOP_COMPLIANCE_POLICY": REPO_ROOT / "policies" / "compliance.yaml",
            "frames_max_age_hours": 1e-6,  # a few milliseconds: any frame is past it by the next tick
            "frame_upload_seconds": 0.05,
        }
    )
    frames = start_site_frames("site-timer", settings)
    assert frames is not None
    try:
        frames.store.keep(canary_frame(canary()))
        wait_until(lambda: frames.store.kept_totals() == (0, 0), 30, "the timer to expire the frame")
        assert list((tmp_path / "frames" / "files").iterdir()) == []
    finally:
        frames.close()
