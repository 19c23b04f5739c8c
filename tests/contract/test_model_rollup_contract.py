"""The per-model rollups kept at ingest answer as the counters would, for random ingests, over
every adapter (SQLite, the Cosmos DB adapter on the fake transport; see conftest.py), ranges
included: ``model_stats`` (counts and sites), ``model_hours``, ``site_stats`` and ``site_totals``.

The reference is counted again from what the store holds (every stored insight with its winning
feedback, ``insights_view.contribution``: what the hourly counters add up), so it shares nothing
with the rollups' writes or reads. Ingests mix sites, models of each task, hours, corrected
insights (the same id scored again: another version, hour or outcome), feedback before or after its
insight, changed labels and redelivered batches. Regression values are whole numbers, so the
errors sum exactly in any order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient
from cosmos_fake_transport import ENDPOINT, FAKE_KEY, FakeCosmosTransport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from insight_factory import T0, feedback, insight

from edgeloop.adapters.cosmos_store import CosmosInsightStore
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.counter_stats import site_stats
from edgeloop.domain.hours import hour_range
from edgeloop.domain.insights_view import CounterKey, Counts, InsightQuery, contribution
from edgeloop.domain.model_stats import model_hours, model_stats
from edgeloop.domain.records import InsightRecord, Label, Record, TaskKind
from edgeloop.ports import InsightStore

SITES = ("site-a", "site-b", "site-c")
MODELS: tuple[tuple[str, TaskKind], ...] = (
    ("failure-risk", "binary"),
    ("failure-mode", "multiclass"),
    ("tool-life", "regression"),
)
CLASSES = ("none", "wear", "power")
HOURS = 5
IDS = 12  # insight ids: a later event with the same id corrects the insight
RANGES = [(None, None), (1, None), (None, 3), (1, 4), (2, 3), (4, 9)]  # in hours after T0

StoreFactory = Callable[[], InsightStore]


@pytest.fixture(params=["sqlite", "cosmos-fake"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A fresh, empty store for each example (hypothesis runs many in one test)."""
    opened: list[SqliteInsightStore] = []
    numbers = itertools.count()

    def sqlite() -> InsightStore:
        opened.append(SqliteInsightStore(tmp_path / f"global-{next(numbers)}.sqlite3"))
        return opened[-1]

    def cosmos() -> InsightStore:
        client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=FakeCosmosTransport())
        return CosmosInsightStore(client.get_database_client("edgeloop").get_container_client("insights"))

    yield sqlite if request.param == "sqlite" else cosmos
    for store in opened:
        store.close()


def _insight(number: int, version: int, hour: int, minute: int, anomaly: bool, value: int) -> InsightRecord:
    """Insight ``number``'s site and model are its own (a correction keeps them); the rest may move."""
    name, task = MODELS[number % len(MODELS)]
    prediction: Label | None = {"binary": None, "multiclass": CLASSES[value % 3], "regression": float(value)}[
        task
    ]
    record = insight(
        SITES[number // len(MODELS) % len(SITES)],
        at=T0 + timedelta(hours=hour, minutes=minute),
        anomaly=anomaly,
        version=f"1.{version}.0",
        model=name,
        task=task,
        prediction=prediction,
    )
    return replace(record, insight_id=f"{number:032x}-00000")


def _label(record: InsightRecord, value: int) -> Label:
    task = record.model.task
    return value % 2 if task == "binary" else CLASSES[value % 3] if task == "multiclass" else float(value)


@st.composite
def ingests(draw: st.DrawFn) -> list[list[Record]]:
    """Batches of insights and feedback; some batches are delivered again, later."""
    batches: list[list[Record]] = []
    latest: dict[int, InsightRecord] = {}
    for _ in range(draw(st.integers(1, 6))):
        batch: list[Record] = []
        for _ in range(draw(st.integers(1, 8))):
            number = draw(st.integers(0, IDS - 1))
            fields = (st.integers(0, 2), st.integers(0, HOURS - 1), st.integers(0, 59), st.booleans())
            record = _insight(number, *(draw(field) for field in fields), draw(st.integers(0, 200)))
            if draw(st.booleans()):  # feedback, before or after the insight's (first) delivery
                minutes = draw(st.integers(0, 600))
                label = _label(record, draw(st.integers(0, 200)))
                fid = f"{number:032x}-f{minutes:04d}"
                note = feedback(record, label, at=T0 + timedelta(minutes=minutes), fid=fid)
                batch.append(note)
            if draw(st.booleans()) or number not in latest:
                latest[number] = record
                batch.append(record)
        batches.append(batch)
        if draw(st.booleans()):
            batches.append(draw(st.sampled_from(batches)))  # a redelivery
    return batches


def _counted_again(store: InsightStore) -> list[tuple[CounterKey, Counts]]:
    """What the counters add up, from the stored insights and their feedback."""
    rows: list[tuple[CounterKey, Counts]] = []
    query = InsightQuery(limit=100)
    while True:
        page = store.query(query)
        rows += [row for item in page.items for row in contribution(item.record, item.feedback).items()]
        if page.next_after is None:
            return rows
        query = replace(query, after=page.next_after)


def _in_hours(
    rows: list[tuple[CounterKey, Counts]], first: int | None, last: int | None
) -> list[tuple[CounterKey, Counts]]:
    start = None if first is None else T0 + timedelta(hours=first)
    end = None if last is None else T0 + timedelta(hours=last)
    low, high = hour_range(start, end)
    return [(key, counts) for key, counts in rows if (low or "") <= key.hour < (high or "~")]


# The fixture hands out a fresh store per call: nothing carries over between examples.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=ingests())
def test_the_model_rollups_answer_as_the_counters_for_random_ingests(
    new_store: StoreFactory, batches: list[list[Record]]
) -> None:
    store = new_store()
    for batch in batches:
        store.upsert(batch)
    rows = _counted_again(store)
    for first, last in RANGES:
        start = None if first is None else T0 + timedelta(hours=first)
        end = None if last is None else T0 + timedelta(hours=last)
        counted = _in_hours(rows, first, last)
        assert store.model_stats(start, end) == model_stats(counted), (first, last)
        assert store.model_hours(start, end) == model_hours(counted), (first, last)
        assert store.site_stats(start, end) == site_stats(counted), (first, last)
        totals = [(s.site_id, s.counts) for s in store.site_totals(start, end)]
        assert totals == [(s.site_id, s.counts) for s in site_stats(counted)], (first, last)
