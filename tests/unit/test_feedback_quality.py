"""How one feedback judges its insight, per task: what counts toward accuracy and error."""

from __future__ import annotations

import pytest
from contract.insight_factory import class_insight, insight, value_insight

from edgeloop.domain.feedback_quality import NOT_JUDGED, Judgement, judge
from edgeloop.domain.records import InsightRecord, Label


@pytest.mark.parametrize(
    ("record", "label", "expected"),
    [
        (insight(anomaly=True), 1, Judgement(1, 1, 0, 0.0)),
        (insight(anomaly=True), 0, Judgement(1, 0, 0, 0.0)),
        (insight(anomaly=False), 0, Judgement(1, 1, 0, 0.0)),
        (insight(anomaly=False), 1, Judgement(1, 0, 0, 0.0)),
        (insight(anomaly=True), "failed", NOT_JUDGED),
        (insight(anomaly=True), 2, NOT_JUDGED),
        (class_insight(predicted="wear"), "wear", Judgement(1, 1, 0, 0.0)),
        (class_insight(predicted="wear"), "power", Judgement(1, 0, 0, 0.0)),
        (class_insight(predicted="1"), 1, NOT_JUDGED),  # a number is no class name
        (class_insight(predicted=None), "wear", NOT_JUDGED),  # the output was not finite
        (value_insight(predicted=10.0), 12.5, Judgement(0, 0, 1, 2.5)),
        (value_insight(predicted=10.0), 7, Judgement(0, 0, 1, 3.0)),
        (value_insight(predicted=10.0), "worn", NOT_JUDGED),
        (value_insight(predicted=None), 7, NOT_JUDGED),
    ],
)
def test_each_task_judges_by_its_own_measure(
    record: InsightRecord, label: Label, expected: Judgement
) -> None:
    assert judge(record, label) == expected
