"""Feedback use case: the actual outcome of scored readings, recorded like insights.

``record`` takes typed items (insight id, label). All are checked first (the id's
format, the label against the task of the model serving now, and that the insight was
scored on this site); one bad item refuses the whole call and nothing is recorded. A
label is the task's (edgeloop.domain.tasks): 0/1, a class name, or a number. A detection
model's label (edgeloop.domain.detection_labels: verdicts, then missed boxes) is also read
against the detections its insight recorded (``detection_feedback.label_mismatch``, as a
retraining reads it): a verdict per detection, in order, else ``InvalidInput`` naming
``label``. An insight the outbox no longer keeps (past its retention), or never had, is
unknown (:class:`UnknownInsights`, whatever the task). Also: the "recent scorings" view of the
site, joined with feedback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from edgeloop.domain.detection_feedback import label_mismatch
from edgeloop.domain.insight_ids import INSIGHT_ID_HINT, insight_id_of, new_batch_id, parse_insight_id
from edgeloop.domain.problems import InvalidInput, Problem
from edgeloop.domain.records import FEEDBACK_KIND, INSIGHT_KIND, FeedbackRecord, Label, utc_now
from edgeloop.domain.tasks import DetectionTask, Task
from edgeloop.ports import Outbox


class UnknownInsights(InvalidInput):
    """Feedback naming insights this site never scored (or no longer knows)."""


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    insight_id: str
    label: Label  # as the serving model's task has it


@dataclass(frozen=True, slots=True)
class FeedbackReceipt:
    batch_id: str
    feedback_ids: list[str]


def item_problems(index: int, insight_id: object, label: object, task: Task) -> list[Problem]:
    """What is wrong with item ``index``'s values (whatever their type) for ``task``, in field order."""
    problems = []
    if type(insight_id) is not str or parse_insight_id(insight_id) is None:
        problems.append(Problem(index, "insight_id", f"must be an insight id like {INSIGHT_ID_HINT}"))
    label_problem = task.label_problem(label)
    if label_problem is not None:
        problems.append(Problem(index, "label", label_problem))
    return problems


class FeedbackService:
    def __init__(
        self,
        outbox: Outbox,
        site_id: str,
        *,
        serving_task: Callable[[], Task],
        clock: Callable[[], datetime] = utc_now,
        batch_ids: Callable[[], str] = new_batch_id,
    ) -> None:
        """``serving_task``: the task of the model serving now (read once per call)."""
        self._outbox = outbox
        self._site_id = site_id
        self._serving_task = serving_task
        self._clock = clock
        self._batch_ids = batch_ids

    def record(self, items: Sequence[FeedbackItem]) -> FeedbackReceipt:
        """Record every item or none; raises InvalidInput, UnknownInsights or OutboxFull."""
        task = self._serving_task()
        problems = [p for index, item in enumerate(items) for p in item_problems(index, *_values(item), task)]
        if problems:
            raise InvalidInput(problems)
        if isinstance(task, DetectionTask):
            self._check_detection_labels(items)
        else:
            unknown = [index for index, item in enumerate(items) if not self._outbox.has_record(*_ids(item))]
            if unknown:
                raise UnknownInsights([_unknown(index, items[index]) for index in unknown])
        batch_id = self._batch_ids()
        recorded_at = self._clock()
        records = [
            FeedbackRecord(
                insight_id_of(batch_id, index), item.insight_id, self._site_id, item.label, recorded_at
            )
            for index, item in enumerate(items)
        ]
        self._outbox.append(batch_id, FEEDBACK_KIND, [orjson.dumps(r.to_wire()) for r in records])
        return FeedbackReceipt(batch_id, [r.feedback_id for r in records])

    def _check_detection_labels(self, items: Sequence[FeedbackItem]) -> None:
        """Each label read against its insight's detections (UnknownInsights first, then InvalidInput)."""
        # One read and decode per entry: a call's items often judge the insights of one scoring.
        entries = {_ids(item)[0] for item in items}
        by_id = {r.get("insight_id"): r for entry in entries for r in self._outbox.entry_insights(entry)}
        insights = [by_id.get(item.insight_id) for item in items]
        unknown = [_unknown(index, items[index]) for index, found in enumerate(insights) if found is None]
        if unknown:
            raise UnknownInsights(unknown)
        problems = []
        for index, (item, insight) in enumerate(zip(items, insights, strict=True)):
            assert insight is not None  # checked above
            mismatch = label_mismatch(insight.get("prediction"), str(item.label))
            if mismatch is not None:
                problems.append(Problem(index, "label", f"insight {item.insight_id}: {mismatch}"))
        if problems:
            raise InvalidInput(problems)


def _unknown(index: int, item: FeedbackItem) -> Problem:
    return Problem(index, "insight_id", f"unknown insight {item.insight_id} on this site")


def _values(item: FeedbackItem) -> tuple[object, object]:
    return item.insight_id, item.label


def _ids(item: FeedbackItem) -> tuple[str, int]:
    """The item's insight id as (entry id, index) in the outbox."""
    parsed = parse_insight_id(item.insight_id)
    assert parsed is not None  # checked by item_problems
    return parsed


@dataclass(frozen=True, slots=True)
class RecentScoring:
    insight_id: str
    scored_at: str
    model_version: str
    inputs: dict[str, Any]
    outputs: dict[str, float]
    anomaly: bool
    anomaly_kinds: list[str]
    context: dict[str, str]
    feedback: Label | None  # the latest reported label, if any
    prediction: Label | None = None  # class name or value (a model that is not binary)


def recent_scorings(outbox: Outbox, limit: int, feedback_window: int = 2000) -> list[RecentScoring]:
    """The site's newest insights (newest first) with the outcome reported for each, if any."""
    labels: dict[str, Label] = {}
    # Newest first: the first label seen for an insight is its latest.
    for record in outbox.recent(FEEDBACK_KIND, feedback_window):
        labels.setdefault(record["insight_id"], record["label"])
    scorings = []
    for record in outbox.recent(INSIGHT_KIND, limit):
        scorings.append(
            RecentScoring(
                insight_id=record["insight_id"],
                scored_at=record["scored_at"],
                model_version=record["model"]["version"],
                inputs=record["inputs"],
                outputs=record["outputs"],
                anomaly=record["anomaly"],
                anomaly_kinds=record["anomaly_kinds"],
                context=record.get("context") or {},
                feedback=labels.get(record["insight_id"]),
                prediction=record.get("prediction"),
            )
        )
    return scorings
