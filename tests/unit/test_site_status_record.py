"""The site-status record (the heartbeat): its wire form, its validation, and the default policy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.powerbi_records import binary_dataset
from support.powerbi_records import insight as wire_insight

from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.domain.compliance import PolicyEngine
from edgeloop.domain.lake_rows import lake_table_rows
from edgeloop.domain.powerbi_rows import rows_for_records
from edgeloop.domain.powerbi_schema import INSIGHTS_TABLE
from edgeloop.domain.records import ModelRef, RecordError, record_from_wire
from edgeloop.domain.site_status import DriftSummary, SiteStatusRecord, drift_summary_of
from edgeloop.wire.storage_layout import partition_of

REPO = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 3, 9, 30, 5, 250000, tzinfo=UTC)


def heartbeat() -> SiteStatusRecord:
    return SiteStatusRecord(
        status_id="ab" * 16,
        site_id="plant-7",
        reported_at=AT,
        model=ModelRef("ai4i-failure", "1.2.0", "cd" * 32),
        champion_version="1.3.0",
        outbox_depth=42,
        outbox_oldest_age_s=3.5,
        relay_lag_s=0.8,
        last_send_at=AT,
        scoring_errors=2,
        relay_failures=1,
        heartbeat_failures=0,
        drift=DriftSummary("drift", 1000, {"torque_nm": {"psi": 0.31, "status": "drift"}}),
    )


def test_a_heartbeat_round_trips_through_its_wire_form() -> None:
    record = heartbeat()
    wire = record.to_wire()
    assert wire["kind"] == "site_status"
    assert wire["reported_at"] == "2026-11-03T09:30:05.250000Z"
    assert record_from_wire(wire) == record


def test_only_the_envelope_is_required_the_rest_reads_as_its_default() -> None:
    wire = {
        "kind": "site_status",
        "schema_version": 1,
        "status_id": "s1",
        "site_id": "a",
        "reported_at": "2026-11-03T09:30:00Z",
    }
    record = record_from_wire(wire)
    assert isinstance(record, SiteStatusRecord)
    assert (record.outbox_depth, record.relay_lag_s, record.drift.status) == (0, None, "unavailable")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status_id": ""}, "status_id"),
        ({"status_id": "a/b"}, "status_id"),
        ({"reported_at": "yesterday"}, "reported_at"),
        ({"outbox_depth": -1}, "outbox_depth"),
        ({"outbox_depth": True}, "outbox_depth"),
        ({"relay_lag_s": float("nan")}, "relay_lag_s"),
        ({"scoring_errors": 1.5}, "scoring_errors"),
        ({"drift": {"status": "fine"}}, "drift.status"),
        ({"drift": {"status": "ok", "window_rows": -3}}, "drift.window_rows"),
        ({"model": {"name": "m", "version": "1", "sha256": "x", "task": "ranking"}}, "model.task"),
        ({"schema_version": 2}, "schema_version"),
    ],
)
def test_a_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as raised:
        record_from_wire({**heartbeat().to_wire(), **change})
    assert raised.value.field == field


def test_a_drift_summary_keeps_plain_figures_only() -> None:
    summary = drift_summary_of(
        {
            "status": "watch",
            "window_rows": 10,
            "features": {"a": {"psi": 0.2, "bins": [1, 2], "ks": float("inf")}},
        }
    )
    assert summary.features == {"a": {"psi": 0.2}}


def test_the_default_policy_passes_a_heartbeat_whole() -> None:
    """Nothing personal in it, so nothing is dropped: the cloud reads what the site wrote."""
    engine = PolicyEngine(load_compliance_policy(REPO / "policies" / "compliance.yaml"), b"k" * 32)
    wire = heartbeat().to_wire()
    decision = engine.decide(wire)
    assert decision.rejected_by is None
    assert decision.record == wire


def test_a_heartbeat_is_filed_under_its_site_and_hour() -> None:
    assert partition_of(heartbeat().to_wire()) == ("plant-7", "2026-11-03", "09")


def test_the_reporting_feeds_skip_a_heartbeat_in_a_blob_of_insights() -> None:
    """Power BI and the lake read the same compliant blobs; a heartbeat is no row of theirs."""
    records = [wire_insight(0), heartbeat().to_wire(), wire_insight(1)]
    tables = rows_for_records(records, binary_dataset())
    assert len(tables[INSIGHTS_TABLE]) == 2
    rows, feedback = lake_table_rows(records)
    assert (len(rows), feedback) == (2, [])
