"""DriftWatch on a real SQLite ledger: the newest drifting status per site asks the trigger, once.

The Trainer records what it is handed (a test double: the run itself is covered on Azurite by
tests/integration/test_drift_triggered_retraining.py and test_fleet_on_azurite.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from edgeloop.adapters.sqlite_drift_trigger_ledger import SqliteDriftTriggerLedger
from edgeloop.domain.records import ModelRef
from edgeloop.domain.site_status import DriftSummary, FeatureFigures, SiteStatusRecord
from edgeloop.ports import RetrainRequest
from edgeloop.service_layer.drift_trigger import DriftTrigger
from edgeloop.service_layer.drift_watch import DriftWatch

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
MODEL = "ai4i-failure"


class RecordingTrainer:
    def __init__(self, fail: bool = False) -> None:
        self.requests: list[RetrainRequest] = []
        self.fail = fail

    def submit(self, request: RetrainRequest) -> str:
        if self.fail:
            raise ConnectionError("queue unreachable")
        self.requests.append(request)
        return "recorded"


def status(site: str, drift: str, seconds: int = 0, model: str = MODEL) -> SiteStatusRecord:
    figures: FeatureFigures = {"statistic": "psi", "value": 0.4, "threshold": 0.25, "status": drift}
    summary = DriftSummary(drift, 1000, {"torque_nm": figures})  # type: ignore[arg-type]  # a str status
    at = T0 + timedelta(seconds=seconds)
    return SiteStatusRecord(f"{site}-{seconds}", site, at, ModelRef(model, "1.0.0", "ab"), drift=summary)


def watch(tmp_path: Path, trainer: RecordingTrainer) -> DriftWatch:
    ledger = SqliteDriftTriggerLedger(tmp_path / "triggers.sqlite3")
    return DriftWatch(DriftTrigger(trainer, ledger, timedelta(hours=24)), MODEL, clock=lambda: T0)


def test_only_the_drifting_site_requests_a_run_and_a_redelivery_requests_nothing(tmp_path: Path) -> None:
    trainer = RecordingTrainer()
    blob = [status("site-1", "ok"), status("site-2", "watch"), status("site-3", "drift")]
    [decision] = watch(tmp_path, trainer).observe(blob)
    assert decision.triggered
    assert decision.reason == "drift: site site-3, features torque_nm"
    # The same blob again (Service Bus redelivers it), even through a new process: no second run.
    [again] = watch(tmp_path, trainer).observe(blob)
    assert not again.triggered
    assert again.reason.startswith("rate-limited")
    assert [request.reason for request in trainer.requests] == [decision.reason]


def test_a_site_s_newest_status_decides(tmp_path: Path) -> None:
    trainer = RecordingTrainer()
    recovered = [status("site-3", "drift", seconds=0), status("site-3", "ok", seconds=30)]
    assert watch(tmp_path, trainer).observe(recovered) == []
    assert trainer.requests == []


def test_another_model_line_or_a_watch_turned_off_requests_nothing(tmp_path: Path) -> None:
    trainer = RecordingTrainer()
    assert watch(tmp_path, trainer).observe([status("site-3", "drift", model="press-defect")]) == []
    assert DriftWatch(None, MODEL).observe([status("site-3", "drift")]) == []
    assert trainer.requests == []


def test_a_trainer_that_fails_is_logged_and_the_next_heartbeat_asks_again(tmp_path: Path) -> None:
    trainer = RecordingTrainer(fail=True)
    assert watch(tmp_path, trainer).observe([status("site-3", "drift")]) == []
    trainer.fail = False
    [decision] = watch(tmp_path, trainer).observe([status("site-3", "drift", seconds=30)])
    assert decision.triggered
    assert len(trainer.requests) == 1
