"""``POST /api/v1/score`` served directly (scoring_app/fast_route.py) answers exactly as the router does.

Two apps on the same model: the real one, and one whose middleware list has the
direct route taken out, so every request walks FastAPI's routing. The same
requests must give the same status, headers and body (batch ids aside, which are
random per request).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.bundles import valid_rows
from support.scoring_settings import API_KEY, scoring_settings

from edgeloop.domain.manifest import ModelManifest, load_manifest
from scoring_app import create_app
from scoring_app.fast_route import DirectRoute

JSON = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
_BATCH_ID = re.compile(rb"[0-9a-f]{32}")


def _app(tmp_path: Path, bundle: Path, *, direct: bool) -> FastAPI:
    app = create_app(scoring_settings(tmp_path, bundle, site_id="site-test", max_body_bytes=4096))
    if not direct:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not DirectRoute]  # type: ignore[comparison-overlap]
    return app


@pytest.fixture(scope="module")
def manifest(demo_bundle_dir: Path) -> ModelManifest:
    return load_manifest(demo_bundle_dir)


@pytest.fixture(scope="module")
def clients(
    tmp_path_factory: pytest.TempPathFactory, demo_bundle_dir: Path
) -> Iterator[tuple[TestClient, TestClient]]:
    direct = _app(tmp_path_factory.mktemp("direct"), demo_bundle_dir, direct=True)
    routed = _app(tmp_path_factory.mktemp("routed"), demo_bundle_dir, direct=False)
    with TestClient(direct, follow_redirects=False) as a, TestClient(routed, follow_redirects=False) as b:
        yield a, b


def _requests(manifest: ModelManifest) -> list[tuple[str, str, bytes, dict[str, str]]]:
    rows = valid_rows(manifest, 3, seed=11)
    bad = [dict(rows[0]), {**rows[1], manifest.feature_names[0]: "hot"}, {"nope": 1}]
    post = "POST"
    path = "/api/v1/score"
    return [
        (post, path, orjson.dumps({"rows": rows[:1]}), JSON),
        (post, path, orjson.dumps({"rows": rows}), JSON),
        (post, path, orjson.dumps({"rows": bad}), JSON),
        (post, path, orjson.dumps({"rows": []}), JSON),
        (post, path, orjson.dumps([1, 2]), JSON),
        (post, path, orjson.dumps({"rows": rows, "extra": 1}), JSON),
        (post, path, b"{not json", JSON),
        (post, path, b"x" * 5000, JSON),
        (post, path, orjson.dumps({"rows": rows}), {"Content-Type": "application/json"}),
        (post, path, orjson.dumps({"rows": rows}), {**JSON, "X-API-Key": "wrong"}),
        (post, path, orjson.dumps({"rows": rows}), {**JSON, "Content-Type": "text/plain"}),
        (post, path + "?debug=1", orjson.dumps({"rows": rows}), JSON),
        ("GET", path, b"", JSON),
        ("PUT", path, orjson.dumps({"rows": rows}), JSON),
        (post, path + "/", orjson.dumps({"rows": rows}), JSON),
    ]


def _answer(client: TestClient, method: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
    response = client.request(method, path, content=body, headers=headers)
    kept = {k: v for k, v in response.headers.items() if k not in ("date", "server")}
    return response.status_code, kept, _BATCH_ID.sub(b"<batch>", response.content)


def test_direct_route_answers_like_the_router(
    clients: tuple[TestClient, TestClient], manifest: ModelManifest
) -> None:
    direct, routed = clients
    statuses = []
    for method, path, body, headers in _requests(manifest):
        got = _answer(direct, method, path, body, headers)
        assert got == _answer(routed, method, path, body, headers), (method, path, body[:60])
        statuses.append(got[0])
    # The cases above cover every answer of the route, and requests it does not take.
    assert set(statuses) >= {200, 400, 401, 405, 413, 415, 422}


def test_direct_route_records_and_counts_like_the_router(
    clients: tuple[TestClient, TestClient], manifest: ModelManifest
) -> None:
    direct, _ = clients
    outbox = direct.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    before = outbox.depth()
    body = orjson.dumps({"rows": valid_rows(manifest, 4)})
    response = direct.post("/api/v1/score", content=body, headers=JSON)
    assert response.status_code == 200
    assert outbox.depth() == before + 4
    metrics = direct.get("/metrics").text
    assert 'edgeloop_scoring_requests_total{method="POST",route="/api/v1/score",status="200"}' in metrics
