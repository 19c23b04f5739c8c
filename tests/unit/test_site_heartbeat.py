"""The site's heartbeat use case on a real SQLite outbox (edgeloop.service_layer.site_status).

The readings are plain closures over counters: they stand in for the scoring process's model
holder, relay stats and error count, which have no behaviour of their own to exercise here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.waiting import wait_until

from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.bootstrap.site_status import serving_model_of
from edgeloop.domain.records import ModelRef, record_from_wire
from edgeloop.domain.site_status import UNKNOWN_MODEL, SiteStatusRecord
from edgeloop.service_layer.scoring import ModelHolder
from edgeloop.service_layer.site_status import HeartbeatThread, SiteHeartbeat, SiteReadings, no_drift

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
MODEL = ModelRef("ai4i-failure", "1.2.0", "ab" * 32)


class Site:
    """Counters a test moves, read by the heartbeat like the scoring process's figures."""

    def __init__(self) -> None:
        self.scoring_errors = 0
        self.relay_failures = 0
        self.drift: Any = no_drift

    def readings(self) -> SiteReadings:
        return SiteReadings(
            serving_model=lambda: MODEL,
            champion_version=lambda: "1.3.0",
            outbox_oldest_age=lambda: 2.5,
            relay_last_success=lambda: NOW.timestamp() - 4,
            relay_last_sent=lambda: NOW.timestamp() - 9,
            relay_failures=lambda: self.relay_failures,
            scoring_errors=lambda: self.scoring_errors,
            drift=lambda: self.drift(),
        )


def written(outbox: SqliteOutbox) -> list[SiteStatusRecord]:
    records = [record_from_wire(wire) for wire in reversed(outbox.recent("site_status", 100))]
    assert all(isinstance(record, SiteStatusRecord) for record in records)
    return records  # type: ignore[return-value]


@pytest.fixture
def outbox(tmp_path: Path) -> SqliteOutbox:
    return SqliteOutbox(tmp_path / "outbox.sqlite3", capacity=3)


def test_a_beat_writes_the_sites_status_into_the_outbox(outbox: SqliteOutbox) -> None:
    heartbeat = SiteHeartbeat("plant-7", outbox, Site().readings(), clock=lambda: NOW)
    assert heartbeat.beat()
    [status] = written(outbox)
    assert (status.site_id, status.reported_at, status.model, status.champion_version) == (
        "plant-7", NOW, MODEL, "1.3.0",
    )  # fmt: skip
    assert (status.outbox_depth, status.outbox_oldest_age_s, status.relay_lag_s) == (0, 2.5, 4.0)
    assert status.last_send_at == datetime.fromtimestamp(NOW.timestamp() - 9, UTC)
    assert status.drift.status == "unavailable"
    assert outbox.depth() == 1  # it waits for the relay like any insight


def test_a_site_waiting_for_its_first_model_still_beats_with_the_unknown_model(outbox: SqliteOutbox) -> None:
    readings = replace(Site().readings(), serving_model=lambda: serving_model_of(ModelHolder(None)))
    assert SiteHeartbeat("plant-new", outbox, readings, clock=lambda: NOW).beat()
    [status] = written(outbox)
    assert (status.site_id, status.model) == ("plant-new", UNKNOWN_MODEL)


def test_error_counts_are_those_since_the_previous_written_heartbeat(outbox: SqliteOutbox) -> None:
    site = Site()
    heartbeat = SiteHeartbeat("plant-7", outbox, site.readings(), clock=lambda: NOW)
    site.scoring_errors, site.relay_failures = 3, 1
    heartbeat.beat()
    site.scoring_errors = 5
    heartbeat.beat()
    assert [(s.scoring_errors, s.relay_failures) for s in written(outbox)] == [(3, 1), (2, 0)]


def test_a_heartbeat_that_cannot_be_written_is_counted_and_told_by_the_next(outbox: SqliteOutbox) -> None:
    site = Site()
    heartbeat = SiteHeartbeat("plant-7", outbox, site.readings(), clock=lambda: NOW)
    outbox.append("full" * 8, "insight", [b'{"x":1}'], record_count=3)  # the outbox is full now
    site.scoring_errors = 2
    assert not heartbeat.beat()
    assert not heartbeat.beat()
    assert heartbeat.failures == 2
    for entry in outbox.claim(10, 60):
        outbox.mark_sent([entry.entry_id])
    assert heartbeat.beat()
    [status] = written(outbox)
    assert (status.heartbeat_failures, status.scoring_errors) == (2, 2)  # the unwritten ones' errors too


def test_a_failing_or_nonsense_drift_provider_reads_as_unavailable(outbox: SqliteOutbox) -> None:
    site = Site()
    heartbeat = SiteHeartbeat("plant-7", outbox, site.readings(), clock=lambda: NOW)

    def broken() -> dict[str, Any]:
        raise RuntimeError("monitor down")

    site.drift = broken
    heartbeat.beat()
    site.drift = lambda: {"status": "very drifty"}
    heartbeat.beat()
    site.drift = lambda: {"status": "drift", "window_rows": 700, "features": {"torque_nm": {"psi": 0.4}}}
    heartbeat.beat()
    drifts = [s.drift for s in written(outbox)]
    assert [d.status for d in drifts] == ["unavailable", "unavailable", "drift"]
    assert drifts[2].features == {"torque_nm": {"psi": 0.4}}


def test_the_thread_beats_at_once_and_stops(outbox: SqliteOutbox) -> None:
    heartbeat = SiteHeartbeat("plant-7", outbox, Site().readings())
    thread = HeartbeatThread(heartbeat, interval_s=3600)
    try:
        wait_until(lambda: heartbeat.written == 1, 10, "the first heartbeat")
    finally:
        thread.stop()
    assert not thread.is_alive()
    assert len(written(outbox)) == 1
