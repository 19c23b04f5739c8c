"""Per-site and per-hour statistics, folded from the hourly counter rows a store reads.

Pure: every insight store adapter hands its counter rows (edgeloop.domain.insights_view)
to these folds, so SQLite and Cosmos DB report the same figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from edgeloop.domain.insights_view import CounterKey, Counts, hour_start, model_label


@dataclass(frozen=True, slots=True)
class SiteStats:
    site_id: str
    counts: Counts
    model_versions: tuple[str, ...]  # "name version", sorted

    @property
    def anomaly_rate(self) -> float | None:
        return self.counts.anomalies / self.counts.scored if self.counts.scored else None

    @property
    def feedback_accuracy(self) -> float | None:
        """Share of the judged feedback that the models got right: binary and multiclass feedback,
        and each verdict on a detection (an accepted one is right; a detection model's own figure
        is its precision, per model, with its recall, which a site's verdicts alone cannot give).

        Regression feedback has no accuracy (its measure, the mean absolute error, is per model).
        """
        judged = self.counts.feedback_judged
        return self.counts.feedback_correct / judged if judged else None


@dataclass(frozen=True, slots=True)
class HourlyRate:
    site_id: str
    hour: datetime
    scored: int
    anomalies: int

    @property
    def anomaly_rate(self) -> float:
        return self.anomalies / self.scored if self.scored else 0.0


def site_stats(rows: Iterable[tuple[CounterKey, Counts]]) -> list[SiteStats]:
    """Fold counter rows into per-site statistics, sorted by site."""
    totals: dict[str, Counts] = {}
    versions: dict[str, set[str]] = {}
    for key, counts in rows:
        totals[key.site_id] = totals.get(key.site_id, Counts()) + counts
        if counts.scored > 0:
            versions.setdefault(key.site_id, set()).add(model_label(key.model_name, key.model_version))
    return [
        SiteStats(site, totals[site], tuple(sorted(versions.get(site, ()))))
        for site in sorted(totals)
        if totals[site].scored > 0
    ]


def overall_stats(sites: Iterable[SiteStats]) -> SiteStats:
    total = Counts()
    versions: set[str] = set()
    for stats in sites:
        total = total + stats.counts
        versions.update(stats.model_versions)
    return SiteStats("all sites", total, tuple(sorted(versions)))


def hourly_rates(rows: Iterable[tuple[CounterKey, Counts]]) -> list[HourlyRate]:
    """Per (site, hour) scored/anomaly counts, sorted by site then hour."""
    merged: dict[tuple[str, str], Counts] = {}
    for key, counts in rows:
        slot = (key.site_id, key.hour)
        merged[slot] = merged.get(slot, Counts()) + counts
    return [
        HourlyRate(site, hour_start(hour), counts.scored, counts.anomalies)
        for (site, hour), counts in sorted(merged.items())
        if counts.scored > 0
    ]
