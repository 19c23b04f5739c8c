"""The cloud's view of insights: stored items, queries, per-site statistics.

Pure values and rules shared by every insight store adapter, so SQLite and
Cosmos DB agree on semantics:

* an insight is keyed by ``insight_id`` (a redelivered record replaces itself);
* feedback joins its insight through ``insight_id``; of several feedback
  records for one insight the latest (``recorded_at``, then ``feedback_id``)
  wins, whatever order they arrive in, and feedback may arrive first;
* statistics are counted per (site, hour, model, task) from the *state* of each
  insight, so a store keeps pre-aggregated counters by applying
  :func:`counter_delta` of the state before and after a write: redelivery
  changes nothing, a correction moves the counts; the feedback's quality
  measure per task is edgeloop.domain.feedback_quality's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from edgeloop.domain.feedback_quality import judge
from edgeloop.domain.hours import hour_bucket as hour_bucket
from edgeloop.domain.hours import hour_range as hour_range
from edgeloop.domain.hours import hour_start as hour_start
from edgeloop.domain.records import (
    FeedbackRecord,
    InsightRecord,
    Label,
    Record,
    TaskKind,
    parse_timestamp,
)

# Outputs a model may name its risk score with, most specific first.
RISK_OUTPUT_NAMES = ("risk", "failure_risk", "failure_probability", "probability")


@dataclass(frozen=True, slots=True)
class StoredFeedback:
    feedback_id: str
    label: Label
    recorded_at: datetime

    @classmethod
    def of(cls, record: FeedbackRecord) -> StoredFeedback:
        return cls(record.feedback_id, record.label, record.recorded_at)

    @classmethod
    def from_stored(cls, feedback_id: str, label: Label, recorded_at: str) -> StoredFeedback:
        """Back from a store's columns or document fields (``recorded_at`` as formatted text).

        The label keeps its type (0/1, a class name, a number): the task's measure depends on it.
        """
        return cls(feedback_id, label, parse_timestamp(recorded_at, "recorded_at"))


def latest_feedback(current: StoredFeedback | None, incoming: StoredFeedback | None) -> StoredFeedback | None:
    """The feedback that wins: order-independent, so redelivery and reordering agree."""
    if current is None:
        return incoming
    if incoming is None:
        return current
    if (incoming.recorded_at, incoming.feedback_id) > (current.recorded_at, current.feedback_id):
        return incoming
    return current


@dataclass(frozen=True, slots=True)
class StoredInsight:
    record: InsightRecord
    feedback: StoredFeedback | None = None


@dataclass(frozen=True, slots=True)
class InsightCursor:
    """Keyset position: the last item of a page (pages run newest first)."""

    scored_at: datetime
    insight_id: str


@dataclass(frozen=True, slots=True)
class InsightQuery:
    site_id: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    anomalies_only: bool = False
    limit: int = 100
    after: InsightCursor | None = None


@dataclass(frozen=True, slots=True)
class InsightPage:
    items: tuple[StoredInsight, ...]
    next_after: InsightCursor | None  # None: this was the last page

    @classmethod
    def of(cls, items: tuple[StoredInsight, ...], more: bool) -> InsightPage:
        """A page of ``items``; ``more``: the store found items past them (it fetches limit + 1)."""
        if not more or not items:
            return cls(items, None)
        last = items[-1].record
        return cls(items, InsightCursor(last.scored_at, last.insight_id))


@dataclass(frozen=True, slots=True)
class Counts:
    """Additive counters; the feedback measures are edgeloop.domain.feedback_quality's sums."""

    scored: int = 0
    anomalies: int = 0
    feedback: int = 0
    feedback_correct: int = 0  # classification feedback whose prediction was right
    feedback_judged: int = 0  # classification feedback compared with its prediction
    error_count: int = 0  # regression feedback with a measured error
    error_sum: float = 0.0  # sum of those absolute errors
    feedback_missed: int = 0  # defects a detection model did not find (an operator's missed boxes)

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.scored + other.scored,
            self.anomalies + other.anomalies,
            self.feedback + other.feedback,
            self.feedback_correct + other.feedback_correct,
            self.feedback_judged + other.feedback_judged,
            self.error_count + other.error_count,
            self.error_sum + other.error_sum,
            self.feedback_missed + other.feedback_missed,
        )

    def __neg__(self) -> Counts:
        return Counts(
            -self.scored,
            -self.anomalies,
            -self.feedback,
            -self.feedback_correct,
            -self.feedback_judged,
            -self.error_count,
            -self.error_sum,
            -self.feedback_missed,
        )

    def is_zero(self) -> bool:
        return self == Counts()


@dataclass(frozen=True, slots=True)
class CounterKey:
    site_id: str
    hour: str  # hour_bucket()
    model_name: str
    model_version: str
    task: TaskKind = "binary"


def model_label(name: str, version: str) -> str:
    return f"{name} {version}"


def risk_score(outputs: Mapping[str, float | None]) -> float | None:
    """The model's risk output, by the names models use; the only output otherwise."""
    for name in RISK_OUTPUT_NAMES:
        if name in outputs:
            return outputs[name]
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    return None


def contribution(insight: InsightRecord | None, feedback: StoredFeedback | None) -> dict[CounterKey, Counts]:
    """What one insight (with its winning feedback) adds to the hourly counters."""
    if insight is None:
        return {}  # pending feedback counts once its insight arrives
    model = insight.model
    key = CounterKey(insight.site_id, hour_bucket(insight.scored_at), model.name, model.version, model.task)
    if feedback is None:
        return {key: Counts(scored=1, anomalies=int(insight.anomaly))}
    judged, correct, measured, abs_error, missed = judge(insight, feedback.label)
    return {key: Counts(1, int(insight.anomaly), 1, correct, judged, measured, abs_error, missed)}


def counter_delta(
    before: tuple[InsightRecord | None, StoredFeedback | None],
    after: tuple[InsightRecord | None, StoredFeedback | None],
    into: dict[CounterKey, Counts],
) -> None:
    """Accumulate ``after - before`` into ``into`` (zero entries are dropped)."""
    old, new = contribution(*before), contribution(*after)
    for key, counts in old.items():
        into[key] = into.get(key, Counts()) + (-counts)
    for key, counts in new.items():
        into[key] = into.get(key, Counts()) + counts
    for key in old.keys() | new.keys():
        if into[key].is_zero():
            del into[key]


InsightState = tuple[InsightRecord | None, StoredFeedback | None]
"""What a store holds for one ``insight_id``: the insight (None until it arrives) and its feedback."""


@dataclass(frozen=True, slots=True)
class IncomingRecords:
    """One write's records by ``insight_id``: the last insight and the winning feedback of each."""

    insights: dict[str, InsightRecord]
    feedback: dict[str, StoredFeedback]
    feedback_sites: dict[str, str]  # insight_id -> site_id of the last feedback record for it

    @classmethod
    def of(cls, records: Iterable[Record]) -> IncomingRecords:
        incoming = cls({}, {}, {})
        for record in records:
            if isinstance(record, InsightRecord):
                incoming.insights[record.insight_id] = record
            elif isinstance(record, FeedbackRecord):
                winner = latest_feedback(incoming.feedback.get(record.insight_id), StoredFeedback.of(record))
                assert winner is not None  # never None with an incoming feedback
                incoming.feedback[record.insight_id] = winner
                incoming.feedback_sites[record.insight_id] = record.site_id
        return incoming

    @property
    def insight_ids(self) -> list[str]:
        """Every id the write touches, sorted (a stable lock and batch order)."""
        return sorted(self.insights.keys() | self.feedback.keys())

    def apply(self, insight_id: str, before: InsightState, delta: dict[CounterKey, Counts]) -> InsightState:
        """The insight's state after this write; accumulates the counters' change into ``delta``."""
        after = self.after(insight_id, before)
        counter_delta(before, after, delta)
        return after

    def after(self, insight_id: str, before: InsightState) -> InsightState:
        """The insight's state after this write, from ``before``."""
        old_insight, old_feedback = before
        return self.insights.get(insight_id, old_insight), latest_feedback(
            old_feedback, self.feedback.get(insight_id)
        )
