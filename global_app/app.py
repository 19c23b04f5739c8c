"""The global app: a read-only FastAPI dashboard and JSON API over the global insight store.

Thin: routes parse parameters, call the read use cases
(edgeloop.service_layer.global_views) and render. ``create_app`` takes its
collaborators; ``create_app_from_settings`` is the composition used by
``python -m global_app`` and the Functions HTTP blueprint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from edgeloop.config.cloud import CloudSettings
from edgeloop.domain.insights_view import InsightQuery, risk_score
from edgeloop.ports import InsightStore
from edgeloop.service_layer.global_views import dashboard, summary
from global_app.auth import (
    Authenticator,
    AuthError,
    EntraAuth,
    JwksUrlKeys,
    KeysUnavailable,
    OpenAccess,
    Principal,
)
from global_app.chart import anomaly_rate_chart
from global_app.openapi import answers, query_parameters
from global_app.params import (
    ParamError,
    decode_cursor,
    encode_cursor,
    filter_scope,
    parse_bool,
    parse_limit,
    parse_range,
    parse_site,
    reject_unknown,
)
from global_app.serialize import insight_json, summary_json

HERE = Path(__file__).parent
INSIGHT_PARAMS = ("site", "from", "to", "anomalies_only", "limit", "cursor")


def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


def _store(request: Request) -> InsightStore:
    store: InsightStore = request.app.state.store
    return store


def require_reader(request: Request) -> Principal:
    return _authenticator(request).authenticate(request.headers.get("authorization"))


api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_reader)])
pages = APIRouter(dependencies=[Depends(require_reader)])


@api.get("/insights", openapi_extra=query_parameters(*INSIGHT_PARAMS), responses=answers(400, 401, 503))
def list_insights(request: Request) -> dict[str, Any]:
    params = dict(request.query_params)
    reject_unknown(params, INSIGHT_PARAMS)
    site = parse_site(params)
    start, end = parse_range(params)
    anomalies_only = parse_bool(params, "anomalies_only")
    scope = filter_scope(site, start, end, anomalies_only)
    query = InsightQuery(site, start, end, anomalies_only, parse_limit(params), decode_cursor(params, scope))
    page = _store(request).query(query)
    return {
        "items": [insight_json(item) for item in page.items],
        "next_cursor": encode_cursor(page.next_after, scope) if page.next_after else None,
    }


@api.get("/summary", openapi_extra=query_parameters("from", "to"), responses=answers(400, 401, 503))
def get_summary(request: Request) -> dict[str, Any]:
    params = dict(request.query_params)
    reject_unknown(params, ("from", "to"))
    start, end = parse_range(params)
    return summary_json(summary(_store(request), start, end))


@pages.get("/", response_class=HTMLResponse)
def dashboard_page(request: Request) -> HTMLResponse:
    params = dict(request.query_params)
    reject_unknown(params, ("from", "to"))
    start, end = parse_range(params)
    view = dashboard(_store(request), start, end)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "view": view,
            "chart": anomaly_rate_chart(view.rates, view.chart_start, view.chart_end),
            "auth_mode": _authenticator(request).mode,
            "risk_score": risk_score,
            "params": params,
        },
    )


def _param_error(request: Request, exc: Exception) -> JSONResponse | HTMLResponse:
    assert isinstance(exc, ParamError)
    body = {"error": "invalid_parameter", "parameter": exc.parameter, "message": exc.message}
    if request.url.path.startswith("/api/"):
        return JSONResponse(body, status_code=400)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"error": body}, status_code=400)


def _auth_error(request: Request, exc: Exception) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return JSONResponse({"error": "unauthorized", "message": str(exc)}, status_code=401, headers=headers)


def _keys_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"error": "auth_unavailable", "message": "signing keys cannot be fetched; retry"},
        status_code=503,
        headers={"Retry-After": "30"},
    )


def create_app(store: InsightStore, authenticator: Authenticator) -> FastAPI:
    app = FastAPI(title="Edgeloop global insights", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.store = store
    app.state.authenticator = authenticator
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.add_exception_handler(ParamError, _param_error)
    app.add_exception_handler(AuthError, _auth_error)
    app.add_exception_handler(KeysUnavailable, _keys_unavailable)
    app.include_router(api)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def authenticator_from_settings(settings: CloudSettings) -> Authenticator:
    if settings.app_auth == "open":
        return OpenAccess()
    assert settings.entra_audience is not None  # CloudSettings validates entra settings
    return EntraAuth(
        JwksUrlKeys(settings.entra_keys_url), audience=settings.entra_audience, issuers=settings.entra_issuers
    )


def create_app_from_settings(settings: CloudSettings | None = None) -> FastAPI:
    from edgeloop.bootstrap.cloud import build_store

    settings = settings or CloudSettings()
    return create_app(build_store(settings), authenticator_from_settings(settings))
