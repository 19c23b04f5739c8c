"""The per-model rollups the models table reads: the hourly counters folded over sites (per model
and hour) and over hours (per model and site, all time).

Kept at ingest from the same difference as the counters (``insights_view.counter_delta``), in the
same write, so a redelivered record, which changes no counter, changes no rollup either (as
``site_rollup``). What each answers, exactly as the counters would:

* per (model, hour): a model's counts over any range of hours, and ``model_hours``;
* per (model, site), all time: the models table without a range (its counts and its sites), and
  every site's all-time figures (``site_totals`` and ``site_stats`` without a range: one row per
  site and model, not one per site, model and hour).

A range's sites are those of the (model, site) rows that scored in one of its hours, which the
store asks of its counters (a point look-up per pair, not a fold of every counter row; SQLite
keeps each pair's span of hours, ``model_site_hours``, so pairs outside the range are skipped).
Pure: each store keeps the rows its way (tables in SQLite, a document per site and model in
Cosmos DB, whose batches hold one partition: a site's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from edgeloop.domain.counter_stats import SiteStats
from edgeloop.domain.insights_view import CounterKey, Counts, model_label
from edgeloop.domain.model_stats import ModelKey, ModelStats
from edgeloop.domain.records import TaskKind
from edgeloop.domain.site_rollup import site_totals_of

ModelSlot = tuple[ModelKey, str]  # (model, hour bucket as in CounterKey.hour) or (model, site_id)


def model_of(key: CounterKey) -> ModelKey:
    return ModelKey(key.model_name, key.model_version, key.task)


def model_hour_delta(delta: Mapping[CounterKey, Counts]) -> dict[ModelSlot, Counts]:
    """The counters' change per (model, hour), leaving out the hours whose change sums to nothing."""
    return _fold(delta, by_site=False)


def model_site_delta(delta: Mapping[CounterKey, Counts]) -> dict[ModelSlot, Counts]:
    """The counters' change per (model, site), leaving out the sites whose change sums to nothing."""
    return _fold(delta, by_site=True)


def _fold(delta: Mapping[CounterKey, Counts], *, by_site: bool) -> dict[ModelSlot, Counts]:
    # On every ingest, over every changed counter: plain tuples while folding (a model key is
    # made once per model), and a slot's first change kept as it is, not added to zero.
    rolled: dict[tuple[str, str, TaskKind, str], Counts] = {}
    for key, change in delta.items():
        slot = (key.model_name, key.model_version, key.task, key.site_id if by_site else key.hour)
        earlier = rolled.get(slot)
        rolled[slot] = change if earlier is None else earlier + change
    models: dict[tuple[str, str, TaskKind], ModelKey] = {}
    folded: dict[ModelSlot, Counts] = {}
    for (name, version, task, where), change in rolled.items():
        if change != Counts():
            model = models.get((name, version, task)) or models.setdefault(
                (name, version, task), ModelKey(name, version, task)
            )
            folded[model, where] = change
    return folded


def model_site_hours(delta: Mapping[CounterKey, Counts]) -> dict[ModelSlot, tuple[str, str]]:
    """The first and the last hour the change touches, per (model, site), every slot it touches
    (also one whose change sums to nothing: an insight moved to another hour). Kept as each pair's
    span (the earliest first, the latest last), they bound the hours in which it ever scored, so
    a range outside a pair's span needs no look-up."""
    spans: dict[tuple[str, str, TaskKind, str], tuple[str, str]] = {}
    for key in delta:
        slot = (key.model_name, key.model_version, key.task, key.site_id)
        first, last = spans.get(slot, (key.hour, key.hour))
        spans[slot] = (min(first, key.hour), max(last, key.hour))
    return {
        (ModelKey(name, version, task), site): span for (name, version, task, site), span in spans.items()
    }


def model_stats_of(totals: Iterable[tuple[ModelKey, Counts]], sites: Iterable[ModelSlot]) -> list[ModelStats]:
    """``model_stats.model_stats`` from the rollups: each model's counts (rows summed), and the
    (model, site) pairs that scored; sorted by name, version and task, models that scored nothing
    left out, as the fold of the counters does."""
    summed: dict[ModelKey, Counts] = {}
    for model, counts in totals:
        summed[model] = summed.get(model, Counts()) + counts
    scored_at: dict[ModelKey, set[str]] = {}
    for model, site in sites:
        scored_at.setdefault(model, set()).add(site)
    return [
        ModelStats(model, summed[model], tuple(sorted(scored_at.get(model, ()))))
        for model in sorted(summed, key=lambda m: (m.name, m.version, m.task))
        if summed[model].scored > 0
    ]


def site_stats_of(
    totals: Iterable[tuple[str, Counts]], versions: Iterable[tuple[str, str]]
) -> list[SiteStats]:
    """``counter_stats.site_stats`` from the per-(model, site) rollup: each site's counts (its
    models summed) and the (site, "name version") of the models that scored there; by site,
    sites that scored nothing left out."""
    named: dict[str, set[str]] = {}
    for site, label in versions:
        named.setdefault(site, set()).add(label)
    return [
        SiteStats(site.site_id, site.counts, tuple(sorted(named.get(site.site_id, ()))))
        for site in site_totals_of(totals)
    ]


def all_time_model_stats(rows: Iterable[tuple[ModelKey, str, Counts]]) -> list[ModelStats]:
    """The models table without a range, from the (model, site, all-time counts) rows."""
    listed = list(rows)
    scored = [(model, site) for model, site, counts in listed if counts.scored > 0]
    return model_stats_of(((model, counts) for model, _, counts in listed), scored)


def all_time_site_stats(rows: Iterable[tuple[ModelKey, str, Counts]]) -> list[SiteStats]:
    """``site_stats`` without a range, from the same rows."""
    listed = list(rows)
    labels = [(site, model_label(m.name, m.version)) for m, site, counts in listed if counts.scored > 0]
    return site_stats_of(((site, counts) for _, site, counts in listed), labels)


def all_time_site_totals(rows: Iterable[tuple[ModelKey, str, Counts]]) -> list[SiteStats]:
    """``site_totals`` without a range, from the same rows: each site's models summed."""
    return site_totals_of((site, counts) for _, site, counts in rows)
