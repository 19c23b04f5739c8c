"""The global app over a real SQLite store: dashboard, JSON API, parameter errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from contract.insight_factory import seed_sites
from fastapi.testclient import TestClient

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from global_app.app import create_app
from global_app.auth import OpenAccess


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("global") / "global.sqlite3")
    store.upsert(seed_sites(sites=3, hours=6, per_hour=10))
    with TestClient(create_app(store, OpenAccess())) as test_client:
        yield test_client
    store.close()


def test_dashboard_shows_sites_overall_chart_and_latest_anomalies(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert "Open access — local default" in html
    rows = re.findall(r'<tr data-site="(site-\d)">(.*?)</tr>', html, re.S)
    assert [site for site, _ in rows] == ["site-0", "site-1", "site-2"]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[2][1], re.S)]
    # site-2: 60 scored, 3 of every 10 anomalous, 6 feedback labels all matching the flag.
    assert cells == ["site-2", "60", "18", "30.0%", "6", "100.0%", "failure-risk 1.0.0, failure-risk 1.1.0"]
    overall = re.search(r'<tr id="overall-row">(.*?)</tr>', html, re.S)
    assert overall is not None
    assert "180" in overall.group(1)
    assert "20.0%" in overall.group(1)
    assert html.count('<g class="series"') == 3
    anomalies = re.search(r'<table id="anomaly-table">(.*?)</table>', html, re.S)
    assert anomalies is not None
    assert anomalies.group(1).count("<tr>") == 1 + 20  # header + the latest 20
    assert "0.900" in anomalies.group(1)
    assert "failure confirmed" in anomalies.group(1)


def test_summary_per_site_and_overall_over_a_range(client: TestClient) -> None:
    everything = client.get("/api/v1/summary").json()
    assert [s["site_id"] for s in everything["sites"]] == ["site-0", "site-1", "site-2"]
    assert everything["overall"]["scored"] == 180
    assert everything["overall"]["anomalies"] == 36
    assert everything["sites"][0]["anomaly_rate"] == pytest.approx(0.1)
    assert everything["from"] is None
    window = client.get(
        "/api/v1/summary", params={"from": "2024-05-01T12:30:00Z", "to": "2024-05-01T13:10:00Z"}
    )
    body = window.json()
    assert (body["from"], body["to"]) == ("2024-05-01T12:00:00.000000Z", "2024-05-01T14:00:00.000000Z")
    assert body["overall"]["scored"] == 60  # two whole hours of three sites
    assert body["overall"]["model_versions"] == ["failure-risk 1.0.0"]


def test_insights_page_through_an_opaque_cursor(client: TestClient) -> None:
    seen: list[str] = []
    params: dict[str, str] = {"site": "site-1", "limit": "7"}
    for _ in range(20):
        body = client.get("/api/v1/insights", params=params).json()
        seen += [item["insight_id"] for item in body["items"]]
        assert all(item["site_id"] == "site-1" for item in body["items"])
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert len(seen) == len(set(seen)) == 60
    first = client.get("/api/v1/insights", params={"anomalies_only": "true", "limit": "3"}).json()
    assert [item["anomaly"] for item in first["items"]] == [True, True, True]
    assert first["items"][0]["risk"] == 0.9
    assert first["items"][0]["scored_at"] >= first["items"][1]["scored_at"]
    windowed = client.get(
        "/api/v1/insights", params={"from": "2024-05-01T12:00:00Z", "to": "2024-05-01T12:05:00Z"}
    ).json()
    assert len(windowed["items"]) == 15  # minutes 0-4 of the first hour, three sites


def test_a_cursor_only_pages_the_query_it_came_from(client: TestClient) -> None:
    cursor = client.get("/api/v1/insights", params={"site": "site-0", "limit": "5"}).json()["next_cursor"]
    response = client.get("/api/v1/insights", params={"site": "site-1", "limit": "5", "cursor": cursor})
    assert response.status_code == 400
    assert response.json()["parameter"] == "cursor"


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/api/v1/insights", {"limit": "0"}, "limit"),
        ("/api/v1/insights", {"limit": "many"}, "limit"),
        ("/api/v1/insights", {"limit": "1001"}, "limit"),
        ("/api/v1/insights", {"from": "yesterday"}, "from"),
        ("/api/v1/insights", {"to": "2024-05-01T12:00:00"}, "to"),  # no timezone
        ("/api/v1/insights", {"from": "2024-05-02T00:00:00Z", "to": "2024-05-01T00:00:00Z"}, "from"),
        ("/api/v1/insights", {"anomalies_only": "maybe"}, "anomalies_only"),
        ("/api/v1/insights", {"site": "x" * 200}, "site"),
        ("/api/v1/insights", {"cursor": "not-a-cursor"}, "cursor"),
        ("/api/v1/insights", {"site_id": "site-1"}, "site_id"),
        ("/api/v1/summary", {"to": "never"}, "to"),
        ("/api/v1/summary", {"site": "site-1"}, "site"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(
    client: TestClient, path: str, params: dict[str, str], parameter: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_parameter"
    assert body["parameter"] == parameter


def test_the_dashboard_refuses_a_bad_range_with_a_readable_page(client: TestClient) -> None:
    response = client.get("/", params={"from": "soon"})
    assert response.status_code == 400
    assert "Parameter <code>from</code>" in response.text


def test_an_empty_store_renders_an_empty_dashboard(tmp_path: Path) -> None:
    store = SqliteInsightStore(tmp_path / "empty.sqlite3")
    with TestClient(create_app(store, OpenAccess())) as empty:
        response = empty.get("/")
        assert response.status_code == 200
        assert 'id="no-data"' in response.text
        assert empty.get("/api/v1/insights").json() == {"items": [], "next_cursor": None}
    store.close()
