"""Settings of the global app's fleet view (env prefix ``FLEET_``): when a site is degraded or offline.

* ``FLEET_OFFLINE_AFTER_MINUTES`` (5): no status for longer: offline ("last seen N minutes ago");
  keep it a few heartbeat intervals (``SCORING_HEARTBEAT_INTERVAL_SECONDS``, 30 s) long;
* ``FLEET_BACKLOG_RECORDS`` (10,000): more records waiting in a site's outbox: degraded;
* ``FLEET_BACKLOG_AGE_MINUTES`` (15): its oldest waiting record older: degraded;
* ``FLEET_WINDOW_HOURS`` (24): the hours the anomaly rate and feedback accuracy count over.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from edgeloop.config.base import EdgeloopSettings
from edgeloop.domain.fleet import FleetThresholds


class FleetSettings(EdgeloopSettings):
    model_config = SettingsConfigDict(env_prefix="FLEET_", extra="ignore")

    offline_after_minutes: float = Field(default=5.0, gt=0, le=7 * 24 * 60)
    backlog_records: int = Field(default=10_000, ge=0)
    backlog_age_minutes: float = Field(default=15.0, gt=0, le=7 * 24 * 60)
    window_hours: int = Field(default=24, ge=1, le=24 * 90)

    def thresholds(self) -> FleetThresholds:
        return FleetThresholds(
            offline_after=timedelta(minutes=self.offline_after_minutes),
            backlog_records=self.backlog_records,
            backlog_age=timedelta(minutes=self.backlog_age_minutes),
        )

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.window_hours)
