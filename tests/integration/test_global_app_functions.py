"""The global app served through the Functions HTTP blueprint (the ASGI middleware path Azure uses)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import azure.functions as func
from contract.insight_factory import seed_sites

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from functions import cloud_http, dependencies
from functions.asgi import AsgiFunction
from functions.registry import blueprint_modules
from global_app.app import create_app
from global_app.auth import OpenAccess


class _Context:
    invocation_id = "test-invocation"
    function_name = "global_app"
    function_directory = "."
    trace_context: Any = None
    retry_context: Any = None
    thread_local_storage: Any = None


def _get(path: str) -> func.HttpResponse:
    request = func.HttpRequest(
        "GET", f"http://localhost{path}", headers={}, body=b"", route_params={"route": path.lstrip("/")}
    )
    return asyncio.run(cloud_http.global_app(request, _Context()))  # type: ignore[arg-type]


def test_the_cloud_role_serves_the_global_app_over_http() -> None:
    assert "functions.cloud_http" in blueprint_modules("cloud")
    app = func.FunctionApp()
    app.register_functions(cloud_http.bp)
    [function] = app.get_functions()
    trigger = function.get_trigger()
    assert (function.get_function_name(), trigger.route, trigger.auth_level) == (
        "global_app",
        "{*route}",
        func.AuthLevel.ANONYMOUS,
    )


def test_the_blueprint_answers_with_the_same_fastapi_app(tmp_path: Path) -> None:
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    store.upsert(seed_sites(sites=2, hours=2, per_hour=5))
    dependencies.global_app.override(AsgiFunction(create_app(store, OpenAccess())))
    try:
        summary = _get("/api/v1/summary")
        assert summary.status_code == 200
        assert json.loads(summary.get_body())["overall"]["scored"] == 20
        page = _get("/")
        assert page.status_code == 200
        assert b'<tr data-site="site-1">' in page.get_body()
        assert _get("/api/v1/insights?limit=0").status_code == 400
    finally:
        dependencies.global_app.override(None)
        store.close()
