"""The site's heartbeat: a small status record, into the outbox like any insight.

Every ``interval`` seconds (``SCORING_HEARTBEAT_INTERVAL_SECONDS``; 0: off) the site writes a
``site_status`` record (edgeloop.domain.site_status) as one outbox entry; the relay sends it with
the insights, so it takes the same compliant path to the cloud, and a site back from an outage
delivers the heartbeats it wrote meanwhile, in order, with their true backlog.

Contract: a heartbeat never blocks nor fails scoring. It runs on its own thread; one that cannot
be written (outbox full, locked, failing) is logged and counted in ``failures``, carried in the
next written one as ``heartbeat_failures``, and never raised. Error counts in a record are those
since the previous written heartbeat (the cloud sums them), so nothing is counted twice. Each
worker process of a site writes its own (its scoring errors are its own).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from edgeloop.domain.records import SITE_STATUS_KIND, ModelRef, RecordError, utc_now
from edgeloop.domain.site_status import (
    NO_DRIFT,
    DriftSummary,
    SiteStatusRecord,
    drift_summary_of,
    new_status_id,
)
from edgeloop.ports import Outbox, OutboxError, OutboxFull

logger = logging.getLogger(__name__)

DriftProvider = Callable[[], Mapping[str, Any]]


def no_drift() -> dict[str, Any]:
    """The drift provider of a site without a drift monitor."""
    return {"status": "unavailable", "window_rows": 0, "features": {}}


@dataclass(frozen=True, slots=True)
class SiteReadings:
    """Where the heartbeat reads the site's state; the composition root binds each to its source.

    Error counts are totals since the process started; times are unix seconds (None: never).
    """

    serving_model: Callable[[], ModelRef]
    champion_version: Callable[[], str | None]
    outbox_oldest_age: Callable[[], float]
    relay_last_success: Callable[[], float | None]
    relay_last_sent: Callable[[], float | None]
    relay_failures: Callable[[], int]
    scoring_errors: Callable[[], int]
    drift: DriftProvider = no_drift
    rejected_versions: Callable[[], tuple[str, ...]] = tuple  # the versions model delivery refused


class SiteHeartbeat:
    def __init__(
        self,
        site_id: str,
        outbox: Outbox,
        readings: SiteReadings,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._site = site_id
        self._outbox = outbox
        self._readings = readings
        self._clock = clock
        self._reported = (0, 0)  # (scoring errors, relay failures) totals at the last written one
        self._unreported_failures = 0
        self.written = 0
        self.failures = 0

    def beat(self) -> bool:
        """Write one status; False when it could not be written (counted, logged, not raised)."""
        totals = (self._readings.scoring_errors(), self._readings.relay_failures())
        try:
            record = self.status(totals)
            item = orjson.dumps(record.to_wire())
            self._outbox.append(f"status-{record.status_id}", SITE_STATUS_KIND, [item])
        except (OutboxFull, OutboxError) as error:
            self.count_failure()
            logger.warning("site status not written (%s); counted, the next one says so", error)
            return False
        self._reported = totals
        self._unreported_failures = 0
        self.written += 1
        return True

    def count_failure(self) -> None:
        self.failures += 1
        self._unreported_failures += 1

    def status(self, totals: tuple[int, int]) -> SiteStatusRecord:
        """The record this heartbeat writes, given the error totals read now."""
        now = self._clock()
        readings = self._readings
        last_success, last_sent = readings.relay_last_success(), readings.relay_last_sent()
        return SiteStatusRecord(
            status_id=new_status_id(),
            site_id=self._site,
            reported_at=now,
            model=readings.serving_model(),
            champion_version=readings.champion_version(),
            outbox_depth=self._outbox.depth(),
            outbox_oldest_age_s=round(readings.outbox_oldest_age(), 3),
            relay_lag_s=None if last_success is None else round(max(0.0, now.timestamp() - last_success), 3),
            last_send_at=None if last_sent is None else datetime.fromtimestamp(last_sent, UTC),
            scoring_errors=max(0, totals[0] - self._reported[0]),
            relay_failures=max(0, totals[1] - self._reported[1]),
            heartbeat_failures=self._unreported_failures,
            drift=self._drift(),
            rejected_versions=readings.rejected_versions(),
        )

    def _drift(self) -> DriftSummary:
        """The drift provider's summary; one that fails or answers nonsense reads as unavailable."""
        try:
            return drift_summary_of(self._readings.drift())
        except RecordError as error:
            logger.warning("drift summary refused (%s: %s); sent as unavailable", error.field, error.message)
        except Exception:
            logger.exception("drift provider failed; sent as unavailable")
        return NO_DRIFT


class HeartbeatThread:
    """Beats at once, then every ``interval_s`` seconds on a daemon thread, until stopped."""

    def __init__(self, heartbeat: SiteHeartbeat, interval_s: float) -> None:
        self.heartbeat = heartbeat
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="site-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.heartbeat.beat()
            except Exception:  # a bug in a reading must not end the heartbeats
                self.heartbeat.count_failure()
                logger.exception("site heartbeat failed; trying again next interval")
            self._stop.wait(self._interval)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
