"""The cloud watches a soaking ring and advances it, keeps it soaking, or rolls it back by itself.

:meth:`RolloutWatch.run` (the retraining timer, ``functions/cloud_retraining.py``, and
``edgeloop models rollout watch``) reads the model's verified rollout pointer; while it soaks it
gathers the current ring's evidence from the global store (the InsightStore port), decides
(edgeloop.domain.rollout_evidence.decide), applies the decision through :class:`Rollouts` and
writes a decision report (``<name>/rollouts/<time>-<candidate>-ring<n>.json`` in the registry):
the evidence, the decision and its reasons, the rollout's state afterwards.

Evidence, per ring site serving the candidate: its insights since the ring started (rows,
anomalies, judged feedback, per version) and the previous model's on the same sites over
``baseline`` before that; from the heartbeats, the version each site serves, scoring errors
while it served the candidate, whether it refused the candidate (``rejected_versions``: a
failed golden check, signature or load, or its own automatic rollback: counted as golden
failures) and whether its inputs drift; where the candidate was shadowed on a ring site, the
summary of its shadow insights there (service_layer.shadow_report: agreement with the served
model, each one's accuracy on the site's labels). The scan reads at most ``max_rows`` insights per site.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from edgeloop.domain.insights_view import InsightQuery, StoredInsight
from edgeloop.domain.records import format_timestamp, utc_now
from edgeloop.domain.rollout import RolloutState
from edgeloop.domain.rollout_documents import state_to_dict
from edgeloop.domain.rollout_evidence import Decision, RingEvidence, VersionFigures, decide, insight_figures
from edgeloop.domain.shadow_agreement import ShadowSummary
from edgeloop.ports import InsightStore, RolloutRegistry
from edgeloop.service_layer.rollouts import Rollouts
from edgeloop.service_layer.shadow_report import shadow_summary

ACTOR = "rollout watch"
PAGE = 500


@dataclass(frozen=True, slots=True)
class WatchReport:
    blob: str  # where the report was written
    decision: Decision
    state: RolloutState
    document: dict[str, Any]


class RolloutWatch:
    def __init__(
        self,
        rollouts: Rollouts,
        reports: RolloutRegistry,
        store: InsightStore,
        clock: Callable[[], datetime] = utc_now,
        baseline: timedelta = timedelta(days=1),
        max_rows: int = 20_000,
    ) -> None:
        self.rollouts, self._reports, self._store = rollouts, reports, store
        self._clock, self._baseline, self._max_rows = clock, baseline, max_rows

    def run(self, name: str) -> WatchReport | None:
        """Judge the soaking ring of ``name`` once; None when no rollout soaks (nothing written)."""
        state = self.rollouts.status(name)
        if state is None or state.phase != "soaking":
            return None
        now = self._clock()
        evidence = self.evidence(state, now)
        decision = decide(state, evidence, now)
        after = state
        if decision.action == "advance":
            after = self.rollouts.advance(name, ACTOR, "; ".join(decision.reasons))
        elif decision.action == "roll_back":
            after = self.rollouts.roll_back(name, ACTOR, "; ".join(decision.reasons))
        document = {
            "format": "edgeloop.rollout-decision",
            "decided_at": format_timestamp(now),
            "candidate": state.candidate,
            "previous": state.previous,
            "ring": state.ring,
            "ring_sites": list(state.current_sites()),
            "evidence": evidence.to_dict(),
            "decision": decision.to_dict(),
            "state": state_to_dict(after),
        }
        report_id = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{state.candidate}-ring{state.ring}"
        data = json.dumps(document, indent=2, sort_keys=True).encode("utf-8") + b"\n"
        return WatchReport(self._reports.write_report(name, report_id, data), decision, after, document)

    def evidence(self, state: RolloutState, now: datetime) -> RingEvidence:
        """The current ring's evidence (see the module docstring)."""
        sites = state.current_sites()
        started = state.ring_started_at or now
        latest = {status.site_id: status for status in self._store.latest_site_statuses()}
        candidate, previous = VersionFigures(), VersionFigures()
        for site in sites:
            insights = list(self._insights(site, started - self._baseline, now))
            since = [item for item in insights if item.record.scored_at >= started]
            candidate += insight_figures(since, state.candidate)
            previous += insight_figures(insights, state.previous)
            candidate += VersionFigures(errors=self._errors(site, state.candidate, started, now))
        statuses = [latest[site] for site in sites if site in latest]
        refused = sum(state.candidate in status.rejected_versions for status in statuses)
        return RingEvidence(
            candidate=candidate + VersionFigures(golden_failures=refused),
            previous=previous,
            serving={site: latest[site].model.version if site in latest else None for site in sites},
            drifted=tuple(status.site_id for status in statuses if status.drift.status == "drift"),
            shadow=self._shadow(state),
        )

    def _shadow(self, state: RolloutState) -> tuple[ShadowSummary, ...]:
        found = (
            shadow_summary(self._store, state.name, site, state.candidate) for site in state.current_sites()
        )
        return tuple(summary for summary in found if summary is not None)

    def _insights(self, site: str, start: datetime, now: datetime) -> Iterator[StoredInsight]:
        query = InsightQuery(site_id=site, start=start, end=now + timedelta(seconds=1), limit=PAGE)
        read = 0
        while read < self._max_rows:
            page = self._store.query(query)
            yield from page.items
            read += len(page.items)
            if page.next_after is None:
                return
            query = InsightQuery(site_id=site, start=start, end=query.end, limit=PAGE, after=page.next_after)

    def _errors(self, site: str, version: str, start: datetime, now: datetime) -> int:
        history = self._store.site_status_history(site, start, now + timedelta(seconds=1), 10_000)
        return sum(status.scoring_errors for status in history if status.model.version == version)
