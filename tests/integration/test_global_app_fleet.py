"""The fleet view of the global app, in process, on a real SQLite store (pages, API, access).

Statuses are written relative to the time now, as the view derives each state from now minus
the latest ``reported_at``: a site 20 s ago is ok, 40 minutes ago offline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from contract.insight_factory import insight
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.config.fleet import FleetSettings
from edgeloop.domain.records import ModelRef, utc_now
from edgeloop.domain.site_status import DriftSummary, SiteStatusRecord, new_status_id
from global_app.app import create_app
from global_app.auth import EntraAuth, OpenAccess, StaticJwks

MODEL = ModelRef("ai4i-failure", "1.2.0", "ab" * 32)


def beat(site: str, ago: timedelta, **fields: Any) -> SiteStatusRecord:
    return SiteStatusRecord(new_status_id(), site, utc_now() - ago, model=MODEL, **fields)


def seed(store: SqliteInsightStore, now: datetime) -> None:
    store.upsert_site_status(
        [
            *(beat("plant-ok", timedelta(minutes=m), outbox_depth=m) for m in (30, 20, 10)),
            beat("plant-ok", timedelta(seconds=20), outbox_depth=4, champion_version="1.3.0"),
            beat("plant-gone", timedelta(minutes=40), outbox_depth=12),
            beat("plant-busy", timedelta(seconds=10), outbox_depth=50_000, drift=DriftSummary("drift", 900)),
        ]
    )
    hour = now.replace(minute=0, second=0, microsecond=0)
    store.upsert([insight("plant-ok", row=n, at=hour, anomaly=n < 2) for n in range(8)])
    store.upsert([insight("plant-silent", row=0, at=hour)])  # insights, never a status


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    seed(store, utc_now())
    with TestClient(
        create_app(store, OpenAccess(), fleet=FleetSettings(offline_after_minutes=5))
    ) as test_client:
        yield test_client
    store.close()


def test_the_fleet_lists_every_site_with_its_state(client: TestClient) -> None:
    body = client.get("/api/v1/fleet").json()
    sites = {site["site_id"]: site for site in body["sites"]}
    assert {name: site["state"] for name, site in sites.items()} == {
        "plant-busy": "degraded",
        "plant-gone": "offline",
        "plant-ok": "ok",
        "plant-silent": "unknown",
    }
    assert body["states"] == {"ok": 1, "degraded": 1, "offline": 1, "unknown": 1}
    ok = sites["plant-ok"]
    assert (ok["serving_version"], ok["champion_version"], ok["outbox_depth"]) == ("1.2.0", "1.3.0", 4)
    assert (ok["scored"], ok["anomaly_rate"]) == (8, 0.25)
    assert sites["plant-gone"]["last_seen_text"] == "last seen 40 minutes ago"
    assert sites["plant-busy"]["reasons"] == ["backlog of 50,000 records", "inputs drift"]
    assert sites["plant-busy"]["drift_status"] == "drift"
    assert sites["plant-silent"]["last_seen"] is None


def test_under_a_sub_minute_offline_bound_a_silent_site_reads_its_seconds(tmp_path: Path) -> None:
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    store.upsert_site_status([beat("plant-quiet", timedelta(seconds=40))])
    with TestClient(create_app(store, OpenAccess(), fleet=FleetSettings(offline_after_minutes=0.25))) as app:
        [site] = app.get("/api/v1/fleet").json()["sites"]
        page = app.get("/fleet").text
    store.close()
    assert site["state"] == "offline"
    assert re.fullmatch(r"last seen \d+ s ago", site["last_seen_text"])  # 40 s, or a little more
    assert re.search(r"last seen \d+ s ago", page)


def test_the_fleet_pages_attention_first_and_filters_by_state(client: TestClient) -> None:
    first = client.get("/api/v1/fleet", params={"limit": 2}).json()
    assert [site["site_id"] for site in first["sites"]] == ["plant-gone", "plant-busy"]
    assert first["page"] == {"number": 1, "size": 2, "pages": 2, "matching": 4, "states": []}
    second = client.get("/api/v1/fleet", params={"limit": 2, "page": 2}).json()
    assert [site["site_id"] for site in second["sites"]] == ["plant-silent", "plant-ok"]
    chosen = client.get("/api/v1/fleet", params={"state": "ok, offline"}).json()
    assert [site["site_id"] for site in chosen["sites"]] == ["plant-gone", "plant-ok"]
    assert (chosen["page"]["matching"], chosen["page"]["states"]) == (2, ["ok", "offline"])
    assert chosen["states"] == {"ok": 1, "degraded": 1, "offline": 1, "unknown": 1}  # the whole fleet
    assert client.get("/api/v1/fleet", params={"page": 9}).json()["sites"] == []


def test_the_fleet_page_links_its_pages_and_filters(client: TestClient) -> None:
    first = client.get("/fleet", params={"limit": 3}).text
    assert first.index('data-site="plant-gone"') < first.index('data-site="plant-busy"')
    assert 'data-site="plant-ok"' not in first
    assert 'href="/fleet?page=2&amp;limit=3"' in first
    assert 'href="/fleet?state=degraded&amp;limit=3"' in first
    degraded = client.get("/fleet", params={"state": "degraded"}).text
    assert 'data-site="plant-busy"' in degraded
    assert 'data-site="plant-ok"' not in degraded
    assert "Page 1 of 1" in degraded


def test_a_site_reads_with_its_history_oldest_first(client: TestClient) -> None:
    body = client.get("/api/v1/fleet/plant-ok", params={"limit": 3}).json()
    assert body["site"]["state"] == "ok"
    assert [status["outbox_depth"] for status in body["statuses"]] == [20, 10, 4]
    assert body["hours"][0]["scored"] == 8


def test_bad_requests_name_the_parameter_and_an_unknown_site_is_404(client: TestClient) -> None:
    for path, params, parameter in (
        ("/api/v1/fleet", {"site": "x"}, "site"),
        ("/api/v1/fleet", {"state": "ok,sleepy"}, "state"),
        ("/api/v1/fleet", {"page": "0"}, "page"),
        ("/api/v1/fleet/plant-ok", {"limit": "0"}, "limit"),
        ("/api/v1/fleet/" + "s" * 200, {}, "site"),
    ):
        response = client.get(path, params=params)
        assert response.status_code == 400, path
        assert response.json()["parameter"] == parameter
    bad_page = client.get("/fleet", params={"page": "x"})
    assert bad_page.status_code == 400
    assert "page" in bad_page.text
    missing = client.get("/api/v1/fleet/plant-nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    page = client.get("/fleet/plant-nowhere")
    assert page.status_code == 404
    assert "plant-nowhere" in page.text


def test_the_pages_show_the_rows_and_the_charts(client: TestClient) -> None:
    fleet = client.get("/fleet")
    assert fleet.status_code == 200
    assert 'data-site="plant-gone" data-state="offline"' in fleet.text
    assert "last seen 40 minutes ago" in fleet.text
    site = client.get("/fleet/plant-ok")
    assert site.status_code == 200
    assert 'id="chart-backlog"' in site.text
    assert 'data-points="4"' in site.text
    assert 'href="/fleet"' in client.get("/").text  # the dashboard links to it


def test_the_fleet_is_behind_the_dashboards_access_rule(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    auth = EntraAuth(
        StaticJwks({"keys": [{**public, "kid": "k"}]}), audience="api://x", issuers=["https://i"]
    )
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    seed(store, utc_now())
    now = int(utc_now().timestamp())
    claims = {"iss": "https://i", "aud": "api://x", "sub": "a", "iat": now, "nbf": now, "exp": now + 600}
    with TestClient(create_app(store, auth)) as client:
        for path in ("/fleet", "/fleet/plant-ok", "/api/v1/fleet", "/api/v1/fleet/plant-ok"):
            assert client.get(path).status_code == 401, path
            no_role = jwt.encode({**claims, "roles": []}, key, algorithm="RS256", headers={"kid": "k"})
            assert client.get(path, headers={"Authorization": f"Bearer {no_role}"}).status_code == 403, path
            reader = jwt.encode({**claims, "roles": ["reader"]}, key, algorithm="RS256", headers={"kid": "k"})
            assert client.get(path, headers={"Authorization": f"Bearer {reader}"}).status_code == 200, path
    store.close()
