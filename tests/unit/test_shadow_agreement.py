"""The shadow report's maths (agreement, accuracy against feedback) and the shadow insight's wire form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edgeloop.domain.records import Label, ModelRef, RecordError, TaskKind, record_from_wire
from edgeloop.domain.shadow_agreement import ShadowObservation, agrees, summarize
from edgeloop.domain.shadow_records import ServedOutcome, ShadowInsightRecord, shadow_insight_from_wire

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def shadow(
    n: int,
    *,
    task: TaskKind = "binary",
    anomaly: bool = False,
    served_anomaly: bool = False,
    prediction: Label | None = None,
    served_prediction: Label | None = None,
    site: str = "site-a",
    version: str = "2.0.0",
    served: str = "1.0.0",
) -> ShadowInsightRecord:
    return ShadowInsightRecord(
        insight_id=f"{n:032x}-00000",
        site_id=site,
        scored_at=NOW,
        model=ModelRef("m", version, "ab" * 32, task),
        served=ServedOutcome(served, served_anomaly, served_prediction),
        outputs={"risk": 0.5},
        anomaly=anomaly,
        prediction=prediction,
    )


def test_binary_agreement_and_accuracy_against_labels() -> None:
    observations = [
        ShadowObservation(shadow(1, anomaly=True, served_anomaly=True), label=1),  # both right
        ShadowObservation(shadow(2, anomaly=True, served_anomaly=False), label=1),  # shadow right
        ShadowObservation(shadow(3, anomaly=False, served_anomaly=True), label=0),  # shadow right
        ShadowObservation(shadow(4, anomaly=False, served_anomaly=False)),  # no label
    ]
    (summary,) = summarize(observations)
    assert summary.rows == 4
    assert summary.agreement_rate == 0.5
    assert summary.labelled == 3
    assert summary.served_accuracy == pytest.approx(1 / 3)
    assert summary.shadow_accuracy == 1.0
    assert summary.served_mean_abs_error is None


def test_multiclass_agrees_on_the_class_and_regression_within_the_tolerance() -> None:
    assert agrees(shadow(1, task="multiclass", prediction="TWF", served_prediction="TWF"))
    assert not agrees(shadow(1, task="multiclass", prediction="TWF", served_prediction="HDF"))
    assert not agrees(shadow(1, task="multiclass", prediction=None, served_prediction=None))
    near = shadow(1, task="regression", prediction=10.4, served_prediction=10.0)
    assert agrees(near, tolerance=0.5)
    assert not agrees(near, tolerance=0.1)
    assert not agrees(shadow(1, task="regression", prediction=None, served_prediction=1.0), tolerance=9)


def test_regression_errors_against_labels() -> None:
    observations = [
        ShadowObservation(shadow(1, task="regression", prediction=12.0, served_prediction=10.0), label=11.0),
        ShadowObservation(shadow(2, task="regression", prediction=20.0, served_prediction=26.0), label=20.0),
        ShadowObservation(shadow(3, task="regression", prediction=5.0, served_prediction=5.0), label="oops"),
    ]
    (summary,) = summarize(observations, tolerance=1.0)
    assert summary.rows == 3
    assert summary.agreement_rate == pytest.approx(1 / 3)
    assert summary.labelled == 2  # a label of another type judges neither
    assert summary.served_mean_abs_error == pytest.approx(3.5)
    assert summary.shadow_mean_abs_error == pytest.approx(0.5)
    assert summary.served_accuracy is None


def test_summaries_are_per_site_and_version_pair() -> None:
    observations = [
        ShadowObservation(shadow(1, site="site-b")),
        ShadowObservation(shadow(2, site="site-a")),
        ShadowObservation(shadow(3, site="site-a", version="3.0.0")),
        ShadowObservation(shadow(4, site="site-a", served="1.1.0")),
    ]
    keys = [s.key for s in summarize(observations)]
    assert keys == [
        ("site-a", "m", "1.0.0", "2.0.0"),
        ("site-a", "m", "1.0.0", "3.0.0"),
        ("site-a", "m", "1.1.0", "2.0.0"),
        ("site-b", "m", "1.0.0", "2.0.0"),
    ]
    assert summarize([]) == []


def test_the_wire_form_round_trips_and_names_bad_fields() -> None:
    record = shadow(7, task="multiclass", prediction="TWF", served_prediction="HDF")
    wire = record.to_wire()
    assert wire["shadow_id"] == f"{7:032x}-00000@2.0.0"
    assert record_from_wire(wire) == record
    with pytest.raises(RecordError) as bad:
        shadow_insight_from_wire({**wire, "served": {"version": "1", "anomaly": "yes"}})
    assert bad.value.field == "served.anomaly"
    with pytest.raises(RecordError) as forged:
        shadow_insight_from_wire({**wire, "shadow_id": "other"})
    assert forged.value.field == "shadow_id"
    with pytest.raises(RecordError) as missing:
        shadow_insight_from_wire({k: v for k, v in wire.items() if k != "insight_id"})
    assert missing.value.field == "insight_id"
