"""The shadow report (cloud): how a shadowed challenger compares with the served model, per site.

Contract: :func:`shadow_report` reads each site's newest ``rows`` shadow insights of ``model``
from the InsightStore (each with the feedback label on its champion insight) and returns one
:class:`ShadowSummary` per site and (served version, shadow version): rows, agreement rate,
and each model's accuracy (or mean absolute error) against the labels there are
(edgeloop.domain.shadow_agreement). :func:`shadow_summary` is the decision input a rollout
reads: the summary of the site's newest pair (or of the named shadow version), None without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from edgeloop.domain.shadow_agreement import DEFAULT_REGRESSION_TOLERANCE, ShadowSummary, summarize
from edgeloop.ports import InsightStore

DEFAULT_REPORT_ROWS = 10_000  # per site: the newest shadow insights a report reads


def site_shadow_summaries(
    store: InsightStore,
    model: str,
    site: str,
    *,
    rows: int = DEFAULT_REPORT_ROWS,
    tolerance: float = DEFAULT_REGRESSION_TOLERANCE,
) -> list[ShadowSummary]:
    """The site's summaries, newest pair first."""
    observations = store.shadow_observations(model, site, rows)  # newest first
    newest: dict[tuple[str, str], datetime] = {}
    for observation in observations:
        record = observation.record
        newest.setdefault((record.served.version, record.model.version), record.scored_at)
    summaries = summarize(observations, tolerance)
    return sorted(summaries, key=lambda s: newest[(s.served_version, s.shadow_version)], reverse=True)


def shadow_summary(
    store: InsightStore,
    model: str,
    site: str,
    shadow_version: str | None = None,
    *,
    rows: int = DEFAULT_REPORT_ROWS,
    tolerance: float = DEFAULT_REGRESSION_TOLERANCE,
) -> ShadowSummary | None:
    """The site's newest (served, shadow) pair's summary, of ``shadow_version`` when named."""
    for summary in site_shadow_summaries(store, model, site, rows=rows, tolerance=tolerance):
        if shadow_version is None or summary.shadow_version == shadow_version:
            return summary
    return None


def shadow_report(
    store: InsightStore,
    model: str,
    sites: Sequence[str] | None = None,
    *,
    rows: int = DEFAULT_REPORT_ROWS,
    tolerance: float = DEFAULT_REGRESSION_TOLERANCE,
) -> list[ShadowSummary]:
    """Every site's summaries (``sites``: those only; default: each site the store has insights of)."""
    if sites is None:
        sites = sorted({stats.site_id for stats in store.site_totals(None, None)})
    return [
        summary
        for site in sites
        for summary in site_shadow_summaries(store, model, site, rows=rows, tolerance=tolerance)
    ]
