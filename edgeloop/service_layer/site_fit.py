"""Per-site fit in a retraining run, and the exclusions it leaves for the rollout.

:func:`judge_sites`: each site with labelled rows in the run's data is scored on its own
held-out rows, the challenger against the model that site serves now (the line's champion:
every site of a line serves it until staged rollouts pin sites to versions), with the gate's
primary metric; the verdicts are edgeloop.domain.site_fit's.

:func:`cohort_gate`: a cohort line's gate figures, both models on the held-out rows of the
cohort's sites (in place of the base data's held-out rows).

The verdicts go into the run report (``site_fit``) and, as ``site-fit.json``, into the
registered version's files: :func:`read_site_exclusions` is what a rollout reads to learn
which sites a version must not be sent to (site id -> reason). A version registered before
per-site fit has no such file (the registry raises; nothing was judged).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from edgeloop.domain.metrics import EvaluationSpec
from edgeloop.domain.site_fit import SiteFitPolicy, SiteFitReport, SiteSlice, judge_site_fit
from edgeloop.ports import ModelRegistry, ScoringModel, TrainingData

SITE_FIT_FILE = "site-fit.json"
Figures = dict[str, dict[str, float]]


def judge_sites(
    training: TrainingData,
    challenger: ScoringModel,
    current: ScoringModel,
    evaluation: EvaluationSpec,
    policy: SiteFitPolicy,
    serving: Mapping[str, ScoringModel] | None = None,
) -> SiteFitReport:
    """A verdict for each site of the data: the challenger against the model the site serves on its
    slice: ``serving[site]`` where given (a site a rollout kept on another version), else ``current``."""
    slices = []
    for site in training.sites():
        model = (serving or {}).get(site, current)
        rows, scores = training.slice_scores({"challenger": challenger, "current": model}, [site])
        slices.append(SiteSlice(site, rows, scores["challenger"], scores["current"], model.manifest.version))
    return judge_site_fit(slices, evaluation, training.counts.task, policy)


@dataclass(frozen=True)
class CohortGate:
    sites: tuple[str, ...]
    rows: int
    scores: Figures  # by key: challenger, champion
    problem: str | None  # set: too few rows to judge the line on

    def to_dict(self) -> dict[str, Any]:
        return {"sites": list(self.sites), "rows": self.rows, **self.scores}


def cohort_gate(
    training: TrainingData,
    challenger: ScoringModel,
    champion: ScoringModel,
    sites: Collection[str],
    policy: SiteFitPolicy,
) -> CohortGate:
    """Both models on the cohort's held-out rows; a problem below ``policy.min_rows`` rows."""
    rows, scores = training.slice_scores({"challenger": challenger, "champion": champion}, sites)
    problem = None
    if rows < policy.min_rows:
        problem = f"the cohort's sites have {rows} labelled held-out rows, at least {policy.min_rows} needed"
    return CohortGate(tuple(sorted(sites)), rows, scores, problem)


def site_fit_file(report: SiteFitReport) -> dict[str, bytes]:
    return {SITE_FIT_FILE: json.dumps(report.to_dict(), indent=2, sort_keys=True).encode("utf-8") + b"\n"}


def read_site_exclusions(registry: ModelRegistry, name: str, version: str) -> dict[str, str]:
    """The sites ``version`` of ``name`` must not be rolled out to, with why (its site-fit verdicts)."""
    document = json.loads(registry.read(name, version, SITE_FIT_FILE))
    return {str(site): str(reason) for site, reason in dict(document.get("excluded", {})).items()}
