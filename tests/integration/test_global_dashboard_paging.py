"""The dashboard page's paging over a real SQLite store: a page of sites with a next link, the latest
insights filtered and paged back by cursor, and each bad parameter a 400 that names it."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from contract.insight_factory import T0, insight, new_batch_id
from fastapi.testclient import TestClient

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import InsightRecord
from global_app.app import create_app
from global_app.auth import OpenAccess

SITES = 30  # more than a page of sites (25)


def fleet() -> list[InsightRecord]:
    """Two insights a site, the first an anomaly: 30 anomalies, more than a page of them (20)."""
    records = []
    for s in range(SITES):
        batch = new_batch_id()
        records += [
            insight(f"site-{s:02d}", row=n, batch=batch, at=T0 + timedelta(minutes=2 * s + n), anomaly=n == 0)
            for n in range(2)
        ]
    return records


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("paging") / "global.sqlite3")
    store.upsert(fleet())
    with TestClient(create_app(store, OpenAccess())) as test_client:
        yield test_client
    store.close()


def sites(page: str) -> list[str]:
    return re.findall(r'<tr data-site="([^"]+)">', page)


def link(page: str, link_id: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" id="{link_id}"', page)
    return html.unescape(found.group(1)).split("#")[0] if found else None  # the URL, not its anchor


def insight_times(page: str) -> list[str]:
    table = re.search(r'<table id="anomaly-table">(.*?)</table>', page, re.S)
    assert table is not None
    return re.findall(r'<time datetime="([^"]+)"', table.group(1))


def test_the_sites_table_shows_a_page_and_links_the_next(client: TestClient) -> None:
    first = client.get("/").text
    assert sites(first) == [f"site-{s:02d}" for s in range(25)]
    assert "30 sites with data" in first
    assert re.search(r'<tr id="overall-row">\s*<th>All sites</th>\s*<td class="num">60</td>', first)
    assert link(first, "first-sites") is None
    next_sites = link(first, "next-sites")
    assert next_sites == "/?sites_after=site-24"
    second = client.get(next_sites).text
    assert sites(second) == [f"site-{s:02d}" for s in range(25, SITES)]
    assert (link(second, "next-sites"), link(second, "first-sites")) == (None, "/")


def test_the_latest_anomalies_page_back_by_cursor(client: TestClient) -> None:
    first = client.get("/").text
    newest = insight_times(first)
    assert len(newest) == 20
    older = link(first, "older-insights")
    assert older is not None
    second = client.get(older).text
    rest = insight_times(second)
    assert len(rest) == SITES - 20
    assert max(rest) < min(newest)
    assert link(second, "older-insights") is None
    assert link(second, "newest-insights") == "/"


def test_the_insights_filter_by_site_and_outcome(client: TestClient) -> None:
    page = client.get("/", params={"site": "site-03", "outcome": "all"}).text
    table = re.search(r'<table id="anomaly-table">(.*?)</table>', page, re.S)
    assert table is not None
    assert re.findall(r"<tr>\s*<td>([^<]+)</td>", table.group(1)) == ["site-03", "site-03"]
    assert "Latest insights at site-03" in page
    assert sites(page)[:2] == ["site-00", "site-01"]  # the filter is the list's, not the table's


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"outcome": "maybe"}, "outcome"),
        ({"sites_after": "x" * 200}, "sites_after"),
        ({"page": "2"}, "page"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/", params=params)
    assert response.status_code == 400
    assert f"Parameter <code>{parameter}</code>" in response.text


def test_a_cursor_issued_for_other_filters_is_refused_by_name(client: TestClient) -> None:
    older = link(client.get("/").text, "older-insights")
    assert older is not None
    response = client.get(older + "&site=site-03")
    assert response.status_code == 400
    assert "Parameter <code>cursor</code>: was issued for other filters" in response.text
    api = client.get("/api/v1/insights", params={"cursor": "bm90IGEgY3Vyc29y"})
    assert (api.status_code, api.json()["parameter"]) == (400, "cursor")
