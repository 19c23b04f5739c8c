"""The global app: a read-only FastAPI dashboard and JSON API over the global insight store.

Thin: routes parse parameters, call the read use cases
(edgeloop.service_layer.global_views) and render; the dashboard page is global_app.dashboard's.
``create_app`` takes its collaborators; ``create_app_from_settings`` is the composition used by
``python -m global_app`` and the Functions HTTP blueprint.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from edgeloop.config.cloud import CloudSettings
from edgeloop.config.fleet import FleetSettings
from edgeloop.domain.insights_view import InsightQuery
from edgeloop.ports import InsightStore
from edgeloop.service_layer.global_views import model_hours, summary
from global_app.access import (
    SignInRequired,
    auth_error,
    forbidden,
    require_reader,
    sign_in_failed,
    sign_in_required,
    signed_out,
)
from global_app.auth import Authenticator, AuthError, Forbidden, KeysUnavailable
from global_app.compose import access_from_settings
from global_app.dashboard import dashboard_pages
from global_app.fleet import SiteNotFound, fleet_api, fleet_pages, site_not_found
from global_app.fleet_rollouts import RolloutLookup
from global_app.openapi import DocsSignIn, answers, body, install_security_schemes, query_parameters
from global_app.openapi_bodies import MODEL_HOURS_BODY, SUMMARY_BODY
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
from global_app.serialize import insight_json, model_hours_json, summary_json
from global_app.shadow import shadow_api
from global_app.sign_in import OidcSignIn, SignInFailed, sign_in_router
from global_app.vision import vision_api, vision_pages

HERE = Path(__file__).parent
READ_THREADS = 4  # dashboards read at once; more wait their turn
INSIGHT_PARAMS = ("site", "from", "to", "anomalies_only", "limit", "cursor")


def _store(request: Request) -> InsightStore:
    store: InsightStore = request.app.state.store
    return store


api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_reader)])


@api.get("/insights", openapi_extra=query_parameters(*INSIGHT_PARAMS), responses=answers(400, 401, 403, 503))
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


@api.get(
    "/summary",
    openapi_extra=query_parameters("from", "to"),
    responses={**body(SUMMARY_BODY, "Per-site, overall and per-model totals"), **answers(400, 401, 403, 503)},
)
def get_summary(request: Request) -> dict[str, Any]:
    params = dict(request.query_params)
    reject_unknown(params, ("from", "to"))
    start, end = parse_range(params)
    return summary_json(summary(_store(request), start, end))


@api.get(
    "/models/hours",
    openapi_extra=query_parameters("from", "to"),
    responses={
        **body(MODEL_HOURS_BODY, "Each model's counts per hour with data"),
        **answers(400, 401, 403, 503),
    },
)
def get_model_hours(request: Request) -> dict[str, Any]:
    params = dict(request.query_params)
    reject_unknown(params, ("from", "to"))
    start, end = parse_range(params)
    return model_hours_json(model_hours(_store(request), start, end))


def _param_error(request: Request, exc: Exception) -> JSONResponse | HTMLResponse:
    assert isinstance(exc, ParamError)
    body = {"error": "invalid_parameter", "parameter": exc.parameter, "message": exc.message}
    if request.url.path.startswith("/api/"):
        return JSONResponse(body, status_code=400)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"error": body}, status_code=400)


def _keys_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"error": "auth_unavailable", "message": "signing keys cannot be fetched; retry"},
        status_code=503,
        headers={"Retry-After": "30"},
    )


def create_app(
    store: InsightStore,
    authenticator: Authenticator,
    sign_in: OidcSignIn | None = None,
    docs_sign_in: DocsSignIn | None = None,
    fleet: FleetSettings | None = None,
    rollouts: RolloutLookup | None = None,
) -> FastAPI:
    """``sign_in``: browser sign-in (entra mode); ``docs_sign_in``: OAuth on the API docs page;
    ``fleet``: the fleet view's thresholds (default: FleetSettings' defaults, not the environment);
    ``rollouts``: each model's staged rollout for the fleet view (None: none shown)."""
    app = FastAPI(
        title="Edgeloop global insights",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
        swagger_ui_init_oauth=docs_sign_in.init_oauth() if docs_sign_in else None,
    )
    app.state.store = store
    app.state.authenticator = authenticator
    app.state.sign_in = sign_in
    app.state.fleet = fleet or FleetSettings.model_construct()
    app.state.rollouts = rollouts
    # The dashboard's second read runs here alongside its first (SQLite: a connection per thread).
    app.state.read_pool = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="dashboard-read")
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    for error, handler in (
        (ParamError, _param_error),
        (AuthError, auth_error),
        (Forbidden, forbidden),
        (SignInRequired, sign_in_required),
        (SignInFailed, sign_in_failed),
        (KeysUnavailable, _keys_unavailable),
        (SiteNotFound, site_not_found),
    ):
        app.add_exception_handler(error, handler)
    app.include_router(api)
    app.include_router(fleet_api)
    app.include_router(shadow_api)
    app.include_router(dashboard_pages)
    app.include_router(fleet_pages)
    app.include_router(vision_api)
    app.include_router(vision_pages)
    app.include_router(sign_in_router())
    app.add_api_route("/auth/signed-out", signed_out, include_in_schema=False)
    if docs_sign_in is not None:
        install_security_schemes(app, docs_sign_in)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def create_app_from_settings(settings: CloudSettings | None = None) -> FastAPI:
    from edgeloop.bootstrap.cloud import build_store
    from edgeloop.bootstrap.rollouts import build_rollout_lookup

    settings = settings or CloudSettings()
    authenticator, sign_in, docs_sign_in = access_from_settings(settings)
    store, rollouts = build_store(settings), build_rollout_lookup()
    return create_app(store, authenticator, sign_in, docs_sign_in, FleetSettings(), rollouts)
