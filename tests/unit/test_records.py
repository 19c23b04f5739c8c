from datetime import UTC, datetime
from typing import Any

import pytest

from edgeloop.domain.records import (
    FeedbackRecord,
    InsightRecord,
    ModelRef,
    RecordError,
    record_from_wire,
)

SCORED_AT = datetime(2026, 11, 21, 8, 30, 15, 123456, tzinfo=UTC)


def _insight() -> InsightRecord:
    return InsightRecord(
        insight_id="0" * 32 + "-00000",
        site_id="site-a",
        scored_at=SCORED_AT,
        model=ModelRef("ai4i-failure", "1.0.0", "ab" * 32),
        inputs={"type": "M", "torque_nm": 42.5},
        outputs={"failure_probability": 0.12},
        anomaly=False,
        anomaly_kinds=(),
        context={"product_id": "M14860"},
    )


def test_insight_round_trips_through_the_wire_form() -> None:
    record = _insight()
    wire = record.to_wire()
    assert wire["scored_at"] == "2026-11-21T08:30:15.123456Z"
    assert record_from_wire(wire) == record


def test_feedback_round_trips_through_the_wire_form() -> None:
    record = FeedbackRecord("f" * 32 + "-00000", "0" * 32 + "-00000", "site-a", 1, SCORED_AT)
    assert record_from_wire(record.to_wire()) == record


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"schema_version": 99}, "schema_version"),
        ({"kind": "telemetry"}, "kind"),
        ({"anomaly": "yes"}, "anomaly"),
        ({"scored_at": "yesterday"}, "scored_at"),
        ({"scored_at": "2026-11-21T08:30:15"}, "scored_at"),
        ({"inputs": {"torque_nm": [1]}}, "inputs.torque_nm"),
        ({"outputs": {"failure_probability": True}}, "outputs.failure_probability"),
        ({"insight_id": 7}, "insight_id"),
        ({"context": {"operator": 3}}, "context"),
    ],
)
def test_bad_records_name_the_field(change: dict[str, Any], field: str) -> None:
    wire = _insight().to_wire() | change
    with pytest.raises(RecordError) as caught:
        record_from_wire(wire)
    assert caught.value.field == field


def test_missing_field_is_named() -> None:
    wire = _insight().to_wire()
    del wire["site_id"]
    with pytest.raises(RecordError, match="site_id"):
        record_from_wire(wire)


@pytest.mark.parametrize("label", [True, None, [1], {"class": "TWF"}, "", "x" * 201])
def test_a_feedback_label_must_be_a_number_or_a_class_name(label: object) -> None:
    """The record does not name its task (the edge checked the label against the serving
    model's): the wire takes 0/1, a class name or a finite number, and nothing else."""
    wire = FeedbackRecord("f-1", "i-1", "s", 1, SCORED_AT).to_wire() | {"label": label}
    with pytest.raises(RecordError) as caught:
        record_from_wire(wire)
    assert caught.value.field == "label"


def test_an_output_that_was_not_finite_travels_as_null() -> None:
    """A non-finite output is written as null at the site (flagged invalid_output): it must not be refused."""
    wire = _insight().to_wire() | {"outputs": {"failure_probability": None}, "anomaly": True}
    wire["anomaly_kinds"] = ["invalid_output"]
    record = record_from_wire(wire)
    assert isinstance(record, InsightRecord)
    assert record.outputs == {"failure_probability": None}
    assert record_from_wire(record.to_wire()) == record
