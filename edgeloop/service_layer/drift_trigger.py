"""Drift-triggered retraining: a site's drift summary may request a run, at most once per interval.

Contract: :meth:`DriftTrigger.consider` takes a site's drift summary as it arrived (the
heartbeat's JSON, shape in edgeloop.service_layer.drift_monitor). When its status is
"drift" it submits a retraining run through the Trainer port, its reason
``drift: site S, features a, b`` (recorded in the run report), unless drift already
triggered a run of that model within ``interval``; the DriftTriggerLedger port holds those
claims, so the limit holds across restarts and concurrent callers. A submission that fails
releases its claim and raises. Any other summary (ok, watch, unavailable, malformed)
requests nothing. The :class:`TriggerDecision` says which happened and why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from edgeloop.domain.drift_window import drift_reason, drifted_features
from edgeloop.domain.records import format_timestamp
from edgeloop.ports import DriftTriggerLedger, RetrainRequest, Trainer


@dataclass(frozen=True, slots=True)
class TriggerDecision:
    triggered: bool
    reason: str  # triggered: the run's reason; else why no run
    run_id: str | None = None
    submitted_to: str | None = None  # where the Trainer put the run (queue message, job name)
    next_allowed_at: datetime | None = None  # rate-limited: when drift may trigger again


class DriftTrigger:
    def __init__(
        self,
        trainer: Trainer,
        ledger: DriftTriggerLedger,
        interval: timedelta,
        run_ids: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._trainer, self._ledger, self._interval, self._run_ids = trainer, ledger, interval, run_ids

    def consider(
        self, site_id: str, model: str, summary: Mapping[str, Any], now: datetime, line: str | None = None
    ) -> TriggerDecision:
        """Request a run of ``model`` if ``summary`` says drift and the interval allows (see module);
        ``line``: the request's champion line (None: MODEL_NAME's, edgeloop.domain.model_lines)."""
        features = drifted_features(summary)
        if features is None:
            return TriggerDecision(False, f"site {site_id}: drift status {summary.get('status')!r}, no run")
        reason = drift_reason(site_id, features)
        earlier = self._ledger.claim(model, now, now - self._interval, reason)
        if earlier is not None:
            allowed = earlier + self._interval
            why = f"rate-limited: drift triggered a run of {model} at {format_timestamp(earlier)}"
            why = f"{why}; next from {format_timestamp(allowed)}"
            return TriggerDecision(False, why, next_allowed_at=allowed)
        request = RetrainRequest(self._run_ids(), now, reason, line)
        try:
            where = self._trainer.submit(request)
        except BaseException:
            self._ledger.release(model, now)
            raise
        return TriggerDecision(True, reason, request.run_id, where)
