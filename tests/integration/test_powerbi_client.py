"""The Power BI REST client against a real local HTTP server that enforces the push limits.

No Power BI exists here: tests/support/fake_powerbi_server.py is a stand-in that
answers like the service (429 + Retry-After past the request rate, 400 past the
row/column/string limits), so pacing, retries and error reporting run for real.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.fake_powerbi_server import FakePowerBI
from support.powerbi_records import binary_dataset

from edgeloop.adapters.powerbi_client import (
    PowerBIClient,
    PowerBIRequestError,
    PowerBIUnavailable,
    RateLimits,
    RetryPolicy,
    StaticTokenProvider,
)
from edgeloop.domain.powerbi_dataset import service_body
from edgeloop.domain.powerbi_schema import INSIGHTS_TABLE

UNPACED = RateLimits(requests_per_minute=60_000, request_burst=100, rows_per_hour=10**9)


def dataset_definition() -> dict[str, Any]:
    """What `edgeloop powerbi dataset create` sends for the demo model."""
    return service_body(binary_dataset().definition())


FAST_RETRY = RetryPolicy(max_attempts=4, backoff_seconds=0.01, max_backoff_seconds=0.05)


@pytest.fixture
def server() -> Iterator[FakePowerBI]:
    with FakePowerBI(token="local-token") as fake:
        yield fake


def client_for(server: FakePowerBI, **options: Any) -> PowerBIClient:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("limits", UNPACED)
    return PowerBIClient(server.base_url, server.group_id, StaticTokenProvider(server.token), **options)


def rows(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"insight_id": f"id-{i}", "site_id": "site-a", "anomaly": False} for i in range(start, start + count)
    ]


def test_rows_are_posted_to_the_table(server: FakePowerBI) -> None:
    dataset = server.add_dataset(dataset_definition())
    client_for(server).post_rows(dataset, INSIGHTS_TABLE, rows(3))
    assert [r["insight_id"] for r in server.rows(dataset, INSIGHTS_TABLE)] == ["id-0", "id-1", "id-2"]
    assert server.statuses() == [200]


@pytest.mark.slow
def test_pacing_keeps_under_the_services_rate_without_a_429() -> None:
    # The stand-in allows 5 requests per 0.5 s; the client's bucket admits burst + rate * window = 1 + 4.
    with FakePowerBI(token="t", rate_limit=5, rate_window=0.5) as server:
        dataset = server.add_dataset(dataset_definition())
        client = client_for(server, limits=RateLimits(requests_per_minute=480, request_burst=1))
        started = time.monotonic()
        for i in range(12):
            client.post_rows(dataset, INSIGHTS_TABLE, rows(1, start=i))
        elapsed = time.monotonic() - started
        assert server.statuses() == [200] * 12
        assert len(server.rows(dataset, INSIGHTS_TABLE)) == 12
        assert elapsed >= 11 / 8 - 0.05  # 8 requests per second after the first


@pytest.mark.slow
def test_a_429_is_retried_after_retry_after_and_the_rows_arrive_once() -> None:
    # An unpaced client runs into the stand-in's own limit (3 per second).
    with FakePowerBI(token="t", rate_limit=3, rate_window=1.0) as server:
        dataset = server.add_dataset(dataset_definition())
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            time.sleep(seconds)

        client = client_for(server, sleep=sleep)
        for i in range(5):
            client.post_rows(dataset, INSIGHTS_TABLE, rows(2, start=2 * i))
        statuses = server.statuses()
        assert 429 in statuses
        assert statuses.count(200) == 5
        assert 1.0 in slept  # the server's Retry-After, honoured as given
        assert sorted(r["insight_id"] for r in server.rows(dataset, INSIGHTS_TABLE)) == sorted(
            f"id-{i}" for i in range(10)
        )


def test_scripted_429s_wait_exactly_retry_after(server: FakePowerBI) -> None:
    dataset = server.add_dataset(dataset_definition())
    slept: list[float] = []
    server.fail_next(429, count=2, retry_after="7")
    client_for(server, sleep=slept.append).post_rows(dataset, INSIGHTS_TABLE, rows(4))
    # Between them only the pacing bucket's own (sub-millisecond here) waits: no real time passes.
    assert [s for s in slept if s >= 0.1] == [7.0, 7.0]
    assert server.statuses() == [429, 429, 200]
    assert len(server.rows(dataset, INSIGHTS_TABLE)) == 4


def test_a_retry_after_beyond_the_budget_gives_up_at_once(server: FakePowerBI) -> None:
    dataset = server.add_dataset(dataset_definition())
    server.fail_next(429, retry_after="3600")
    with pytest.raises(PowerBIUnavailable, match="3600"):
        client_for(server, sleep=lambda s: None).post_rows(dataset, INSIGHTS_TABLE, rows(1))
    assert server.statuses() == [429]


def test_5xx_is_retried_with_backoff(server: FakePowerBI) -> None:
    dataset = server.add_dataset(dataset_definition())
    server.fail_next(503, count=2)
    slept: list[float] = []
    client_for(server, sleep=slept.append, jitter=lambda: 1.0).post_rows(dataset, INSIGHTS_TABLE, rows(2))
    assert server.statuses() == [503, 503, 200]
    assert [s for s in slept if s >= 0.005] == [0.01, 0.02]  # doubling from backoff_seconds
    assert len(server.rows(dataset, INSIGHTS_TABLE)) == 2


def test_5xx_beyond_the_attempts_is_unavailable_and_adds_nothing(server: FakePowerBI) -> None:
    dataset = server.add_dataset(dataset_definition())
    server.fail_next(500, count=4)
    with pytest.raises(PowerBIUnavailable, match="4 attempts"):
        client_for(server, sleep=lambda s: None).post_rows(dataset, INSIGHTS_TABLE, rows(2))
    assert server.statuses() == [500] * 4
    assert server.rows(dataset, INSIGHTS_TABLE) == []


@pytest.mark.parametrize(
    ("bad_rows", "reason"),
    [
        ([{"insight_id": "a", "bogus": 1}], "unknown column 'bogus'"),
        ([{"insight_id": "x" * 4001}], "exceeds 4000"),
        ([{"anomaly": "no"}], "not a boolean"),
    ],
)
def test_400_is_not_retried_and_carries_the_reason(
    server: FakePowerBI, bad_rows: list[dict[str, Any]], reason: str
) -> None:
    dataset = server.add_dataset(dataset_definition())
    with pytest.raises(PowerBIRequestError) as caught:
        client_for(server).post_rows(dataset, INSIGHTS_TABLE, bad_rows)
    assert caught.value.status == 400
    assert reason in caught.value.reason
    assert server.statuses() == [400]


def test_more_than_10000_rows_never_leave_the_client(server: FakePowerBI) -> None:
    dataset = server.add_dataset(dataset_definition())
    with pytest.raises(ValueError, match="10001 rows"):
        client_for(server).post_rows(dataset, INSIGHTS_TABLE, rows(10_001))
    assert server.statuses() == []


def test_the_stand_in_refuses_10001_rows_like_the_service(server: FakePowerBI) -> None:
    dataset = server.add_dataset(dataset_definition())
    url = f"{server.base_url}/groups/{server.group_id}/datasets/{dataset}/tables/{INSIGHTS_TABLE}/rows"
    answer = httpx.post(url, json={"rows": rows(10_001)}, headers={"Authorization": f"Bearer {server.token}"})
    assert answer.status_code == 400
    assert "10001 rows exceed 10000" in answer.json()["error"]["message"]


def test_a_wrong_token_is_a_401_request_error(server: FakePowerBI) -> None:
    dataset = server.add_dataset(dataset_definition())
    client = PowerBIClient(server.base_url, server.group_id, StaticTokenProvider("stale"), retry=FAST_RETRY)
    with pytest.raises(PowerBIRequestError) as caught:
        client.post_rows(dataset, INSIGHTS_TABLE, rows(1))
    assert caught.value.status == 401


def test_create_find_and_update_a_dataset(server: FakePowerBI) -> None:
    client = client_for(server)
    assert client.find_dataset("edgeloop-insights") is None
    dataset = client.create_dataset(dataset_definition())
    assert client.find_dataset("edgeloop-insights") == dataset
    assert server.datasets[dataset].retention == "basicFIFO"
    table = dataset_definition()["tables"][0]
    table["columns"].append({"name": "extra", "dataType": "String"})
    client.put_table(dataset, table)
    assert server.datasets[dataset].tables[INSIGHTS_TABLE]["extra"] == "string"


def test_a_table_of_76_columns_is_refused(server: FakePowerBI) -> None:
    definition = dataset_definition()
    definition["tables"][0]["columns"] = [{"name": f"c{i}", "dataType": "String"} for i in range(76)]
    with pytest.raises(PowerBIRequestError, match="76 columns exceed 75"):
        client_for(server).create_dataset(definition)
