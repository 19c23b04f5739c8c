"""DriftTrigger on a real SQLite ledger: only "drift" requests a run, at most once per interval.

The Trainer here records what it is handed (a test double: the run itself is covered on
Azurite by tests/integration/test_drift_triggered_retraining.py).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edgeloop.adapters.sqlite_drift_trigger_ledger import SqliteDriftTriggerLedger
from edgeloop.domain.drift_window import drift_reason
from edgeloop.ports import RetrainRequest
from edgeloop.service_layer.drift_trigger import DriftTrigger

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class RecordingTrainer:
    def __init__(self, fail: bool = False) -> None:
        self.requests: list[RetrainRequest] = []
        self._fail = fail

    def submit(self, request: RetrainRequest) -> str:
        if self._fail:
            raise ConnectionError("queue unreachable")
        self.requests.append(request)
        return f"recorded {request.run_id}"


def summary(status: str, **features: str) -> dict[str, Any]:
    return {
        "status": status,
        "window_rows": 1000,
        "features": {
            name: {"statistic": "psi", "value": 0.3, "threshold": 0.25, "status": feature_status}
            for name, feature_status in features.items()
        },
    }


def trigger(tmp_path: Path, trainer: RecordingTrainer, interval: timedelta = 24 * HOUR) -> DriftTrigger:
    return DriftTrigger(trainer, SqliteDriftTriggerLedger(tmp_path / "triggers.sqlite3"), interval)


def test_drift_requests_a_run_with_the_site_and_features_as_its_reason(tmp_path: Path) -> None:
    trainer = RecordingTrainer()
    decision = trigger(tmp_path, trainer).consider(
        "site-b", "ai4i-failure", summary("drift", torque_nm="drift", type="watch", air="drift"), T0
    )
    assert decision.triggered
    assert decision.reason == "drift: site site-b, features air, torque_nm"
    assert [request.reason for request in trainer.requests] == [decision.reason]
    assert trainer.requests[0].run_id == decision.run_id
    assert trainer.requests[0].requested_at == T0
    assert decision.submitted_to == f"recorded {decision.run_id}"


@pytest.mark.parametrize(
    "received",
    [
        summary("ok", a="ok"),
        summary("watch", a="watch"),
        summary("unavailable"),
        {"status": "drift", "features": {}},  # drift with no drifted feature: malformed
        {"status": "drift", "features": ["a"]},
        {},
    ],
)
def test_anything_but_drift_requests_nothing(tmp_path: Path, received: dict[str, Any]) -> None:
    trainer = RecordingTrainer()
    decision = trigger(tmp_path, trainer).consider("site-a", "m", received, T0)
    assert not decision.triggered
    assert "no run" in decision.reason
    assert trainer.requests == []


def test_a_model_is_retrained_for_drift_at_most_once_per_interval(tmp_path: Path) -> None:
    trainer = RecordingTrainer()
    drift = trigger(tmp_path, trainer)
    drifted = summary("drift", a="drift")
    assert drift.consider("site-a", "m", drifted, T0).triggered
    later = drift.consider("site-b", "m", drifted, T0 + 23 * HOUR)
    assert not later.triggered
    assert later.next_allowed_at == T0 + 24 * HOUR
    assert later.reason.startswith("rate-limited: drift triggered a run of m at 2026-12-03T12:00:00")
    assert drift.consider("site-a", "other-model", drifted, T0 + HOUR).triggered  # per model
    assert drift.consider("site-b", "m", drifted, T0 + 24 * HOUR).triggered
    assert [request.reason for request in trainer.requests] == [
        drift_reason("site-a", ("a",)),
        drift_reason("site-a", ("a",)),
        drift_reason("site-b", ("a",)),
    ]
    restarted = trigger(tmp_path, trainer)  # the ledger remembers across restarts
    assert not restarted.consider("site-a", "m", drifted, T0 + 25 * HOUR).triggered


def test_a_submission_that_fails_releases_its_claim(tmp_path: Path) -> None:
    with pytest.raises(ConnectionError):
        trigger(tmp_path, RecordingTrainer(fail=True)).consider("s", "m", summary("drift", a="drift"), T0)
    trainer = RecordingTrainer()
    assert trigger(tmp_path, trainer).consider("s", "m", summary("drift", a="drift"), T0 + HOUR).triggered
    ledger = SqliteDriftTriggerLedger(tmp_path / "triggers.sqlite3")
    assert [at for at, _ in ledger.triggers("m")] == [T0 + HOUR]


def test_of_concurrent_claims_exactly_one_wins(tmp_path: Path) -> None:
    trainer = RecordingTrainer()
    barrier = threading.Barrier(8)
    decisions = []

    def claim(index: int) -> None:
        drift = trigger(tmp_path, trainer)
        barrier.wait()
        decisions.append(drift.consider(f"site-{index}", "m", summary("drift", a="drift"), T0))

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(decision.triggered for decision in decisions) == 1
    assert len(trainer.requests) == 1


def test_a_long_reason_is_cut_to_fit_a_request() -> None:
    reason = drift_reason("site-a", tuple(f"feature_{index:03d}" for index in range(40)))
    assert len(reason) == 200
    assert reason.startswith("drift: site site-a, features feature_000, feature_001")
    assert reason.endswith("...")
