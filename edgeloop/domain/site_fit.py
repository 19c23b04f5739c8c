"""Per-site fit: is a challenger good for each site, judged on that site's own labelled rows?

Each site's held-out labelled rows (the fifth of its rows no challenger trains on, chosen by
a hash of the insight id: edgeloop.training.training_set) are its own evaluation slice. On
it the challenger and the model that site serves now are scored with the gate's primary
metric (edgeloop.domain.metrics); a verdict per site:

* ``fits``: the challenger is not worse than the site's model by more than the tolerance;
* ``worse``: worse by more than the tolerance on that many rows: the site is *excluded*, the
  new champion is not rolled out there (:meth:`SiteFitReport.excluded`);
* ``too_few_rows``: fewer held-out rows than ``min_rows``, or the metric is undefined on the
  slice (ROC AUC of a slice with one class): no judgement, the site is not excluded (the
  overall gate speaks for it).

Thresholds (:class:`SiteFitPolicy`): ``min_rows`` 30 held-out rows; ``tolerance`` None takes
the model's own promotion margin (absolute or relative, as its evaluation says), a number
replaces the margin. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from edgeloop.domain.metrics import EvaluationSpec
from edgeloop.domain.tasks import TaskKind

Verdict = Literal["fits", "worse", "too_few_rows"]
Scores = Mapping[str, float]
DEFAULT_MIN_ROWS = 30


@dataclass(frozen=True, slots=True)
class SiteFitPolicy:
    min_rows: int = DEFAULT_MIN_ROWS  # held-out rows of a site below which it is not judged
    tolerance: float | None = None  # None: the evaluation's margin; else replaces it

    def applied_to(self, evaluation: EvaluationSpec) -> EvaluationSpec:
        return evaluation if self.tolerance is None else replace(evaluation, margin=self.tolerance)


@dataclass(frozen=True, slots=True)
class SiteSlice:
    """One site's held-out rows, scored by the challenger and by the model the site serves."""

    site_id: str
    rows: int
    challenger: Scores
    current: Scores
    current_version: str = ""


@dataclass(frozen=True, slots=True)
class SiteVerdict:
    site_id: str
    verdict: Verdict
    rows: int
    challenger: float | None
    current: float | None
    reason: str

    @property
    def excluded(self) -> bool:
        return self.verdict == "worse"

    def to_dict(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id,
            "verdict": self.verdict,
            "rows": self.rows,
            "challenger": self.challenger,
            "current": self.current,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class SiteFitReport:
    metric: str
    min_rows: int
    tolerance: str  # as applied, e.g. "0.01" or "0.05 of the site model's"
    verdicts: tuple[SiteVerdict, ...]

    def excluded(self) -> dict[str, str]:
        """Site id -> why: the sites the new champion must not be rolled out to."""
        return {verdict.site_id: verdict.reason for verdict in self.verdicts if verdict.excluded}

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "min_rows": self.min_rows,
            "tolerance": self.tolerance,
            "sites": [verdict.to_dict() for verdict in self.verdicts],
            "excluded": self.excluded(),
        }


def judge_site_fit(
    slices: Iterable[SiteSlice], evaluation: EvaluationSpec, task: TaskKind, policy: SiteFitPolicy
) -> SiteFitReport:
    """A verdict per site (ordered by site id) on the evaluation's primary metric."""
    spec = policy.applied_to(evaluation)
    tolerance = f"{spec.margin:g}" + (" of the site model's" if spec.margin_kind == "relative" else "")
    verdicts = tuple(
        _verdict(one, spec, task, policy.min_rows, tolerance)
        for one in sorted(slices, key=lambda s: s.site_id)
    )
    return SiteFitReport(spec.primary_metric, policy.min_rows, tolerance, verdicts)


def _verdict(
    one: SiteSlice, spec: EvaluationSpec, task: TaskKind, min_rows: int, tolerance: str
) -> SiteVerdict:
    name = spec.primary_metric
    ours, theirs = _figure(one.challenger, name), _figure(one.current, name)
    site_model = f"the site's model {one.current_version}".rstrip()
    if one.rows < min_rows:
        reason = f"{one.rows} labelled held-out rows, at least {min_rows} needed to judge"
        return SiteVerdict(one.site_id, "too_few_rows", one.rows, ours, theirs, reason)
    if ours is None or theirs is None:
        reason = f"{name} is undefined on the site's {one.rows} held-out rows (a class is absent)"
        return SiteVerdict(one.site_id, "too_few_rows", one.rows, ours, theirs, reason)
    worst = spec.allowed_worst(task, theirs)
    worse = (ours < worst) if spec.higher_is_better(task) else (ours > worst)
    gap = f"{name} {ours:.4f} vs {theirs:.4f} of {site_model} on {one.rows} rows"
    if worse:
        reason = f"worse by {abs(ours - theirs):.4f} ({gap}; tolerance {tolerance})"
        return SiteVerdict(one.site_id, "worse", one.rows, ours, theirs, reason)
    return SiteVerdict(one.site_id, "fits", one.rows, ours, theirs, f"fits ({gap})")


def _figure(scores: Scores, name: str) -> float | None:
    value = scores.get(name)
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)
