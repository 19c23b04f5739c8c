"""Ring evidence and the decision it gives: keep soaking, advance, or roll back.

The cloud gathers, for the current ring's sites, the candidate's live figures and the previous
model's figures on the *same* sites (what they scored before the candidate arrived): rows,
anomalies, scoring errors, golden checks failed, feedback labels and how many were right, and
which sites drift. :func:`decide` reads them against the plan's thresholds, in this order:

1. a golden check failed, an error rate too high, an anomaly rate too far above the previous
   model's, or feedback accuracy too far below it; or, where the candidate was shadowed on a ring
   site (edgeloop.domain.shadow_agreement: its shadow insights there), its agreement with the
   served model below ``min_shadow_agreement`` or its accuracy on that site's labels too far
   below the served model's: roll back at once, soak time or not;
2. a ring site not yet serving the candidate, too few rows, drift on the ring, or soak time
   left: keep soaking (the reason says which);
3. otherwise advance (after the last ring: complete); a ring none of whose sites is to serve the
   candidate (all excluded by the site fit, or pinned) advances at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from edgeloop.domain.feedback_quality import judge
from edgeloop.domain.insights_view import StoredInsight
from edgeloop.domain.rollout import RolloutState, Thresholds
from edgeloop.domain.shadow_agreement import ShadowSummary

Action = Literal["soak", "advance", "roll_back"]


@dataclass(frozen=True, slots=True)
class VersionFigures:
    """One version's live figures summed over a ring's sites."""

    rows: int = 0
    anomalies: int = 0
    errors: int = 0
    golden_failures: int = 0
    feedback: int = 0
    feedback_correct: int = 0

    @property
    def anomaly_rate(self) -> float:
        return self.anomalies / self.rows if self.rows else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.rows if self.rows else (1.0 if self.errors else 0.0)

    @property
    def accuracy(self) -> float | None:
        return self.feedback_correct / self.feedback if self.feedback else None

    def __add__(self, other: VersionFigures) -> VersionFigures:
        return VersionFigures(
            self.rows + other.rows,
            self.anomalies + other.anomalies,
            self.errors + other.errors,
            self.golden_failures + other.golden_failures,
            self.feedback + other.feedback,
            self.feedback_correct + other.feedback_correct,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "anomalies": self.anomalies,
            "anomaly_rate": round(self.anomaly_rate, 6),
            "errors": self.errors,
            "golden_failures": self.golden_failures,
            "feedback": self.feedback,
            "accuracy": None if self.accuracy is None else round(self.accuracy, 6),
        }


def insight_figures(insights: Iterable[StoredInsight], version: str) -> VersionFigures:
    """Rows, anomalies and judged feedback of ``version``'s insights (others are skipped)."""
    rows = anomalies = feedback = correct = 0
    for insight in insights:
        record = insight.record
        if record.model.version != version:
            continue
        rows += 1
        anomalies += record.anomaly
        if insight.feedback is not None:
            judged = judge(record, insight.feedback.label)
            feedback, correct = feedback + judged.judged, correct + judged.correct
    return VersionFigures(rows=rows, anomalies=anomalies, feedback=feedback, feedback_correct=correct)


@dataclass(frozen=True, slots=True)
class RingEvidence:
    candidate: VersionFigures
    previous: VersionFigures
    serving: Mapping[str, str | None] = field(default_factory=dict)  # ring site -> version it reports
    drifted: tuple[str, ...] = ()  # ring sites whose inputs drift
    shadow: tuple[ShadowSummary, ...] = ()  # the candidate shadowed on ring sites, one per site

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.to_dict(),
            "previous": self.previous.to_dict(),
            "serving": dict(self.serving),
            "drifted": list(self.drifted),
            "shadow": [summary.to_dict() for summary in self.shadow],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "reasons": list(self.reasons)}


def decide(state: RolloutState, evidence: RingEvidence, now: datetime) -> Decision:
    """What to do with the soaking ring of ``state`` given ``evidence`` (see the module docstring)."""
    if state.phase != "soaking":
        return Decision("soak", (f"the rollout is {state.phase}: nothing to decide",))
    if not state.current_sites():  # every site of the ring excluded or pinned: nothing to soak
        return Decision("advance", (f"ring {state.ring}: none of its sites is to serve {state.candidate}",))
    failures = _failures(state.thresholds, evidence.candidate, evidence.previous)
    failures += _shadow_failures(state.thresholds, evidence.shadow)
    if failures:
        return Decision("roll_back", failures)
    waits = _waits(state, evidence, now)
    if waits:
        return Decision("soak", waits)
    figures = evidence.candidate
    return Decision(
        "advance",
        (
            f"ring {state.ring} soaked {state.soak}: {figures.rows} rows, anomaly rate "
            f"{figures.anomaly_rate:.2%} (previous {evidence.previous.anomaly_rate:.2%}), "
            f"{figures.errors} errors, no golden failure",
        ),
    )


def _failures(limits: Thresholds, candidate: VersionFigures, previous: VersionFigures) -> tuple[str, ...]:
    found = []
    if candidate.golden_failures > limits.max_golden_failures:
        found.append(f"golden check failed {candidate.golden_failures} time(s) on the ring")
    if candidate.errors and candidate.error_rate > limits.max_error_rate:
        found.append(f"error rate {candidate.error_rate:.2%} is above {limits.max_error_rate:.2%}")
    baseline = max(previous.anomaly_rate, limits.anomaly_rate_floor)
    if candidate.rows >= limits.min_rows and candidate.anomaly_rate > limits.max_anomaly_ratio * baseline:
        found.append(
            f"anomaly rate {candidate.anomaly_rate:.2%} over {candidate.rows} rows is more than "
            f"{limits.max_anomaly_ratio:g}x the previous model's {previous.anomaly_rate:.2%} on the same ring"
        )
    judged = candidate.feedback >= limits.min_feedback and previous.feedback >= limits.min_feedback
    now, before = candidate.accuracy, previous.accuracy
    if judged and now is not None and before is not None and before - now > limits.max_accuracy_drop:
        found.append(
            f"feedback accuracy {now:.1%} is more than {limits.max_accuracy_drop:.0%}"
            f" below the previous model's {before:.1%}"
        )
    return tuple(found)


def _shadow_failures(limits: Thresholds, shadow: Iterable[ShadowSummary]) -> tuple[str, ...]:
    found = []
    for summary in shadow:
        agreement = summary.agreement_rate  # None: no rows
        judged = summary.rows >= limits.min_shadow_rows
        if judged and agreement is not None and agreement < limits.min_shadow_agreement:
            found.append(
                f"in shadow on {summary.site_id}, {summary.shadow_version} agreed with "
                f"{summary.served_version} on {agreement:.1%} of {summary.rows} rows "
                f"(at least {limits.min_shadow_agreement:.0%} wanted)"
            )
        served, shadowed = summary.served_accuracy, summary.shadow_accuracy
        labelled = summary.labelled >= limits.min_feedback
        if (
            labelled
            and served is not None
            and shadowed is not None
            and served - shadowed > limits.max_accuracy_drop
        ):
            found.append(
                f"in shadow on {summary.site_id}, {summary.shadow_version} was right on "
                f"{shadowed:.1%} of {summary.labelled} labelled rows, more than "
                f"{limits.max_accuracy_drop:.0%} below {summary.served_version}'s {served:.1%}"
            )
    return tuple(found)


def _waits(state: RolloutState, evidence: RingEvidence, now: datetime) -> tuple[str, ...]:
    limits, found = state.thresholds, []
    behind = sorted(site for site in state.current_sites() if evidence.serving.get(site) != state.candidate)
    if behind:
        found.append(f"waiting for {', '.join(behind)} to serve {state.candidate}")
    if evidence.candidate.rows < limits.min_rows:
        found.append(f"{evidence.candidate.rows} of {limits.min_rows} rows scored by {state.candidate}")
    if len(evidence.drifted) > limits.max_drifted_sites:
        found.append(f"inputs drift on {', '.join(evidence.drifted)}: not judged until the data settles")
    ends = state.soak_ends_at
    if ends is not None and now < ends:
        found.append(f"soaking until {ends.isoformat()}")
    return tuple(found)
