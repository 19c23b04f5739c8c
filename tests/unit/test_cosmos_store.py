"""The Cosmos DB adapter's requests and its handling of 409/412/429 answers.

No Cosmos DB emulator can run here, so the real azure-cosmos SDK talks to
``FakeCosmosTransport`` (tests/contract/cosmos_fake_transport.py), an
azure-core HttpTransport answering from in-memory partitions. What is asserted
is what goes on the wire (headers, query text, parameters, batch operations)
and what the adapter does with the service's answers.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from azure.cosmos import CosmosClient
from azure.cosmos.exceptions import CosmosBatchOperationError, CosmosHttpResponseError
from contract.cosmos_fake_transport import ENDPOINT, FAKE_KEY, FakeCosmosTransport, SentRequest
from contract.insight_factory import T0, feedback, insight, new_batch_id

from edgeloop.adapters.cosmos_store import CosmosInsightStore
from edgeloop.domain.insights_view import Counts, InsightCursor, InsightQuery


def _store(fake: FakeCosmosTransport, **options: int) -> CosmosInsightStore:
    client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=fake, retry_total=3, retry_backoff_max=5)
    return CosmosInsightStore(
        client.get_database_client("edgeloop").get_container_client("insights"), **options
    )


def _batches(fake: FakeCosmosTransport) -> list[SentRequest]:
    return [r for r in fake.requests if r.is_batch]


def test_upsert_reads_then_writes_one_atomic_batch_per_partition() -> None:
    fake = FakeCosmosTransport()
    batch = new_batch_id()
    site_a = [insight("site-a", row=i, batch=batch) for i in range(3)]
    site_b = [insight("site-b", row=9, anomaly=True)]
    _store(fake, max_concurrency=1).upsert(site_a + site_b)

    queries = [r for r in fake.requests if r.is_query]
    first = queries[0]
    assert first.partition_key == ["site-a"]
    assert first.body["query"] == "SELECT * FROM c WHERE ARRAY_CONTAINS(@ids, c.id)"
    assert first.body["parameters"] == [{"name": "@ids", "value": sorted(r.insight_id for r in site_a)}]

    markers = [r for r in fake.requests if r.is_upsert]
    assert [(m.partition_key, m.body["id"], m.body["doc_type"]) for m in markers] == [
        (["site-a"], "_site", "site"),
        (["site-b"], "_site", "site"),
    ]
    batches = _batches(fake)
    assert [b.partition_key for b in batches] == [["site-a"], ["site-b"]]
    assert batches[0].headers["x-ms-cosmos-batch-atomic"] == "True"
    operations = batches[0].body
    # 3 insights + 1 hourly counter + the site's rollup of that hour + the site's rollup of the model
    assert [op["operationType"] for op in operations] == ["Create"] * 6
    assert [op["resourceBody"]["id"] for op in operations[:3]] == sorted(r.insight_id for r in site_a)
    counter, rollup, model = (op["resourceBody"] for op in operations[3:])
    assert (counter["doc_type"], counter["hour"], counter["scored"]) == ("hourly", "2024-05-01T12", 3)
    assert (rollup["id"], rollup["doc_type"], rollup["scored"]) == (
        "_site_hourly_2024-05-01T12",
        "site_hourly",
        3,
    )
    assert (model["doc_type"], model["model_name"], model["model_version"], model["scored"]) == (
        "site_model",
        "failure-risk",
        "1.0.0",
        3,
    )
    assert all(op["resourceBody"]["site_id"] == "site-a" for op in operations)


def test_redelivery_reads_but_writes_nothing() -> None:
    fake = FakeCosmosTransport()
    store = _store(fake)
    records = [insight(row=i, batch=new_batch_id()) for i in range(5)]
    store.upsert(records)
    sent_before = len(fake.requests)
    store.upsert(records)
    # The SDK refreshes the account's properties (GET of the account root) on its own clock: not ours.
    redelivery = [r for r in fake.requests[sent_before:] if r.path]
    assert len(redelivery) == 1  # one read of the five ids; no counter changes, so no counter read
    assert redelivery[0].is_query


def test_replacing_a_document_is_conditional_on_its_etag() -> None:
    fake = FakeCosmosTransport()
    store = _store(fake)
    record = insight(anomaly=True)
    store.upsert([record])
    store.upsert([feedback(record, 1)])
    operations = _batches(fake)[-1].body
    replaced = {op["resourceBody"]["id"]: op for op in operations}
    assert replaced[record.insight_id]["operationType"] == "Replace"
    assert replaced[record.insight_id]["ifMatch"].strip('"').isdigit()
    assert replaced[record.insight_id]["resourceBody"]["feedback"]["label"] == 1


def test_a_concurrent_create_409_is_re_read_and_counted_once() -> None:
    """Another ingest instance writes the same records between our read and our batch."""
    fake = FakeCosmosTransport()
    records = [insight(row=i, batch=new_batch_id(), anomaly=True) for i in range(4)]
    rival = _store(fake)

    def race(request: SentRequest) -> None:
        if request.is_batch:
            fake.before_request = None
            rival.upsert(records)

    fake.before_request = race
    store = _store(fake)
    store.upsert(records)
    # The rival's batch, ours (409: the rival created them); on re-reading, nothing is left to write.
    assert len(_batches(fake)) == 2
    [stats] = store.site_stats(None, None)
    assert stats.counts == Counts(scored=4, anomalies=4)


def test_a_moved_etag_412_is_re_read_and_retried() -> None:
    """A rival updates the hour's counter between our read and our batch: our Replace fails 412."""
    fake = FakeCosmosTransport()
    store = _store(fake)
    store.upsert([insight(row=0)])
    rival_record, ours = insight(row=1), insight(row=2, at=T0 + timedelta(minutes=1))
    rival = _store(fake)

    def race(request: SentRequest) -> None:
        if request.is_batch:
            fake.before_request = None
            rival.upsert([rival_record])

    fake.before_request = race
    store.upsert([ours])
    batches = _batches(fake)
    assert len(batches) == 4  # first write, rival, ours (412), ours again
    [stats] = store.site_stats(None, None)
    assert stats.counts.scored == 3


def test_losing_every_race_raises_and_writes_nothing() -> None:
    fake = FakeCosmosTransport()
    store = _store(fake, race_retries=3)
    store.upsert([insight(row=0)])
    documents_before = dict(fake.documents)

    def bump_counter(request: SentRequest) -> None:
        if request.is_batch:
            for key, doc in list(fake.documents.items()):
                if doc["doc_type"] == "hourly":
                    fake.documents[key] = {**doc, "_etag": f'"{time.monotonic_ns()}"'}

    fake.before_request = bump_counter
    with pytest.raises(CosmosBatchOperationError) as failure:
        store.upsert([insight(row=1)])
    assert failure.value.status_code == 412
    assert len(_batches(fake)) == 1 + 3
    assert {k: v["id"] for k, v in fake.documents.items()} == {
        k: v["id"] for k, v in documents_before.items()
    }


def test_throttling_429_is_retried_after_the_retry_after_interval() -> None:
    fake = FakeCosmosTransport()
    store = _store(fake)
    fake.fail_next(lambda r: r.is_batch, 429, count=2, headers={"x-ms-retry-after-ms": "150"})
    started = time.monotonic()
    store.upsert([insight()])
    assert time.monotonic() - started >= 0.3  # two waits of the 150 ms the service asked for
    assert len(_batches(fake)) == 3
    [stats] = store.site_stats(None, None)
    assert stats.counts.scored == 1


def test_throttling_beyond_the_retry_budget_propagates() -> None:
    fake = FakeCosmosTransport()
    store = _store(fake)
    fake.fail_next(lambda r: r.is_batch, 429, count=100, headers={"x-ms-retry-after-ms": "1"})
    with pytest.raises(CosmosHttpResponseError) as failure:
        store.upsert([insight()])
    assert failure.value.status_code == 429
    assert len(_batches(fake)) == 4  # the first try and retry_total=3 retries
    assert [d["doc_type"] for d in fake.documents.values()] == ["site"]


def test_query_targets_one_partition_with_parameters() -> None:
    fake = FakeCosmosTransport()
    store = _store(fake)
    after = InsightCursor(T0 + timedelta(hours=2), "f" * 32 + "-00001")
    store.query(
        InsightQuery(
            site_id="site-a",
            start=T0,
            end=T0 + timedelta(hours=3),
            anomalies_only=True,
            limit=25,
            after=after,
        )
    )
    [query] = [r for r in fake.requests if r.is_query]
    assert query.partition_key == ["site-a"]
    assert query.body["query"] == (
        "SELECT * FROM c WHERE c.doc_type = @type AND c.anomaly = true AND c.scored_at >= @start "
        "AND c.scored_at < @end AND c.sort_key < @after ORDER BY c.sort_key DESC OFFSET 0 LIMIT @limit"
    )
    assert query.body["parameters"] == [
        {"name": "@type", "value": "insight"},
        {"name": "@start", "value": "2024-05-01T12:00:00.000000Z"},
        {"name": "@end", "value": "2024-05-01T15:00:00.000000Z"},
        {"name": "@after", "value": "2024-05-01T14:00:00.000000Z|" + "f" * 32 + "-00001"},
        {"name": "@limit", "value": 26},
    ]


def test_stats_come_from_one_cross_partition_query_over_counters() -> None:
    fake = FakeCosmosTransport()
    store = _store(fake)
    store.upsert([insight("site-a"), insight("site-b")])
    fake.requests.clear()
    stats = store.site_stats(T0, T0 + timedelta(hours=1))
    assert [s.site_id for s in stats] == ["site-a", "site-b"]
    [query] = [r for r in fake.requests if r.is_query]
    assert query.partition_key is None
    assert query.headers["x-ms-documentdb-query-enablecrosspartition"] == "True"
    assert json.loads(json.dumps(query.body["parameters"]))[1:] == [
        {"name": "@first", "value": "2024-05-01T12"},
        {"name": "@last", "value": "2024-05-01T13"},
    ]


def test_ttl_applies_to_insights_not_to_counters() -> None:
    fake = FakeCosmosTransport()
    record = insight()
    _store(fake, ttl_seconds=3600).upsert([record])
    ttl = {doc["doc_type"]: doc["ttl"] for doc in fake.documents.values()}
    assert ttl == {"insight": 3600, "hourly": -1, "site_hourly": -1, "site_model": -1, "site": -1}
