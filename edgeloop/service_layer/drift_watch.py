"""The cloud's drift watch: the site statuses ingest stored, handed to the drift trigger.

Contract: :meth:`DriftWatch.observe` takes the site-status records of one ingested blob
(``IngestResult.site_statuses``). For each site it looks at that site's newest status only;
when the site serves ``model_name`` (the fleet's line this cloud retrains) or one of the
``cohort_lines`` (edgeloop.domain.model_lines: then the run is of that line) and its drift
summary says "drift", it asks :class:`~edgeloop.service_layer.drift_trigger.DriftTrigger`,
which requests a run at most once per interval (its ledger also makes a redelivered blob
request nothing twice). A trigger that fails (the trainer unreachable) is logged, never
raised: the records are stored already, the claim was released, and the site's next
heartbeat asks again. Returns the trigger's decisions, one per site asked about.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from edgeloop.domain.records import utc_now
from edgeloop.domain.site_status import SiteStatusRecord
from edgeloop.service_layer.drift_trigger import DriftTrigger, TriggerDecision

logger = logging.getLogger(__name__)


def newest_per_site(statuses: Sequence[SiteStatusRecord]) -> list[SiteStatusRecord]:
    newest: dict[str, SiteStatusRecord] = {}
    for status in statuses:
        if status.newer_than(newest.get(status.site_id)):
            newest[status.site_id] = status
    return sorted(newest.values(), key=lambda status: status.site_id)


class DriftWatch:
    def __init__(
        self,
        trigger: DriftTrigger | None,
        model_name: str,
        clock: Callable[[], datetime] = utc_now,
        cohort_lines: Collection[str] = (),
    ) -> None:
        self._trigger, self._model_name, self._clock = trigger, model_name, clock  # trigger None: off
        self._cohort_lines = frozenset(cohort_lines)

    def observe(self, statuses: Sequence[SiteStatusRecord]) -> list[TriggerDecision]:
        """Ask the trigger about each drifting site's newest status (see module)."""
        decisions: list[TriggerDecision] = []
        for status in newest_per_site(statuses):
            if self._trigger is None or status.drift.status != "drift":
                continue
            served = status.model.name
            if served != self._model_name and served not in self._cohort_lines:
                logger.info("site %s drifts on %r, not %s: no run", status.site_id, served, self._model_name)
                continue
            line = None if served == self._model_name else served
            try:
                decision = self._trigger.consider(
                    status.site_id, served, status.drift.to_wire(), self._clock(), line
                )
            except Exception:
                logger.exception("drift of site %s: no retraining run could be requested", status.site_id)
                continue
            logger.info("drift of site %s: %s", status.site_id, decision.reason)
            decisions.append(decision)
        return decisions
