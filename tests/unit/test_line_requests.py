"""Runs of a champion line: the request names it (wire, Azure ML job), the timer submits one per line,
the worker hands each to its line's service, a drifting cohort site asks for its line's run (real
SQLite ledger), and RETRAIN_COHORTS is checked at start-up.

The trainer and the services are test doubles recording what they get (the queue and Azure ML
paths have their own tests); the Functions are the blueprint's own user functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from edgeloop.adapters.azureml_trainer import command_job_spec
from edgeloop.adapters.sqlite_drift_trigger_ledger import SqliteDriftTriggerLedger
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.records import ModelRef
from edgeloop.domain.site_status import DriftSummary, FeatureFigures, SiteStatusRecord
from edgeloop.ports import RetrainRequest
from edgeloop.service_layer.drift_trigger import DriftTrigger
from edgeloop.service_layer.drift_watch import DriftWatch
from edgeloop.wire.retrain_request import RetrainRequestError, request_from_json, request_to_json
from functions import cloud_retraining, dependencies

AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
COHORTS = json.dumps([{"line": "ai4i-failure-hot", "sites": ["site-3"]}])


@pytest.fixture(autouse=True)
def no_local_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))


def test_a_request_names_its_line_and_one_without_is_the_fleet_lines() -> None:
    request = RetrainRequest("abc123", AT, "schedule", "ai4i-failure-hot")
    assert request_from_json(request_to_json(request)) == request
    plain = RetrainRequest("abc123", AT, "schedule")
    assert "line" not in json.loads(request_to_json(plain))  # what workers before lines read
    assert request_from_json(request_to_json(plain)).line is None
    with pytest.raises(RetrainRequestError, match="line"):
        request_from_json(
            b'{"run_id": "a1", "requested_at": "2030-01-02T03:04:05Z", "reason": "x", "line": 3}'
        )


def test_the_azure_ml_job_runs_the_requests_line_with_the_cohorts_setting() -> None:
    settings = RetrainingSettings(RETRAIN_COHORTS=COHORTS)  # type: ignore[call-arg]
    spec = command_job_spec(settings, RetrainRequest("abc123", AT, "schedule", "ai4i-failure-hot"))
    assert spec["command"].endswith("--line ${{inputs.line}}")
    assert spec["inputs"]["line"] == "ai4i-failure-hot"
    assert spec["tags"]["edgeloop.model"] == "ai4i-failure-hot"
    assert json.loads(spec["environment_variables"]["RETRAIN_COHORTS"]) == json.loads(COHORTS)
    fleet = command_job_spec(settings, RetrainRequest("abc123", AT, "schedule"))
    assert "--line" not in fleet["command"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "RETRAIN_COHORTS"),
        ('{"line": "x"}', "JSON list"),
        ('[{"line": "ai4i-failure", "sites": ["s"]}]', "must differ"),
    ],
)
def test_a_bad_cohorts_setting_stops_the_start_naming_it(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RetrainingSettings(RETRAIN_COHORTS=value)  # type: ignore[call-arg]


class Recorder:
    def __init__(self) -> None:
        self.requests: list[RetrainRequest] = []

    def submit(self, request: RetrainRequest) -> str:
        self.requests.append(request)
        return "memory"

    def run(self, request: RetrainRequest) -> Any:
        self.requests.append(request)
        return type("Report", (), {"outcome": "skipped"})()


class QueueMessage:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def get_body(self) -> bytes:
        return self._body


def user_function(name: str) -> Any:
    built = {
        builder.build().get_function_name(): builder.build()
        for builder in cloud_retraining.bp._function_builders
    }
    return built[name].get_user_function()


@pytest.fixture
def doubles() -> Iterator[dict[str, Recorder]]:
    recorders = {"trainer": Recorder(), "fleet": Recorder(), "hot": Recorder()}
    dependencies.trainer.override(recorders["trainer"])
    dependencies.pointer_refresher.override(lambda: None)
    dependencies.retraining_lines.override((None, "ai4i-failure-hot"))
    dependencies.retraining.override(recorders["fleet"])
    dependencies.line_retraining.override(
        lambda line: recorders["hot"] if line == "ai4i-failure-hot" else None
    )
    yield recorders
    for lazy in (
        dependencies.trainer,
        dependencies.pointer_refresher,
        dependencies.retraining_lines,
        dependencies.retraining,
        dependencies.line_retraining,
    ):
        lazy.override(None)


def test_the_timer_submits_a_run_per_line_and_the_worker_runs_each_on_its_line(
    doubles: dict[str, Recorder],
) -> None:
    timer = type("Timer", (), {"past_due": False})()
    user_function("schedule_retraining")(timer)
    assert [request.line for request in doubles["trainer"].requests] == [None, "ai4i-failure-hot"]

    for request in doubles["trainer"].requests:
        user_function("run_retraining")(QueueMessage(request_to_json(request)))
    assert [request.line for request in doubles["fleet"].requests] == [None]
    assert [request.line for request in doubles["hot"].requests] == ["ai4i-failure-hot"]


def test_a_drifting_cohort_site_requests_a_run_of_its_own_line(tmp_path: Path) -> None:
    trainer = Recorder()
    ledger = SqliteDriftTriggerLedger(tmp_path / "triggers.sqlite3")
    watch = DriftWatch(
        DriftTrigger(trainer, ledger, timedelta(hours=24)), "ai4i-failure", lambda: AT, ["ai4i-failure-hot"]
    )
    figures: FeatureFigures = {"statistic": "psi", "value": 0.4, "threshold": 0.25, "status": "drift"}
    summary = DriftSummary("drift", 1000, {"torque_nm": figures})

    def drifting(site: str, model: str) -> SiteStatusRecord:
        return SiteStatusRecord(f"{site}-0", site, AT, ModelRef(model, "1.0.0", "ab"), drift=summary)

    statuses = [
        drifting("site-1", "ai4i-failure"),
        drifting("site-3", "ai4i-failure-hot"),
        drifting("x", "other"),
    ]
    decisions = watch.observe(statuses)
    assert [decision.triggered for decision in decisions] == [True, True]  # "other" is no line here
    assert [request.line for request in trainer.requests] == [None, "ai4i-failure-hot"]
