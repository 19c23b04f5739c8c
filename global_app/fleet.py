"""The fleet view: /fleet (one row per site) and /fleet/{site} (its history), and the same as JSON.

Thin, as the dashboard's routes: parse, call the fleet use cases (edgeloop.service_layer.fleet_views)
with the time now and the thresholds (edgeloop.config.fleet), render. Behind the same access rule
as the dashboard (``require_reader``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from edgeloop.config.fleet import FleetSettings
from edgeloop.domain.fleet import SITE_STATES, FleetRow, SiteStateName
from edgeloop.domain.fleet_paging import PAGE_SIZE
from edgeloop.domain.records import utc_now
from edgeloop.ports import InsightStore
from edgeloop.service_layer.fleet_views import HISTORY_LIMIT, FleetView, SiteHistory, fleet, site_history
from global_app.access import require_reader
from global_app.fleet_chart import LineChart, line_chart
from global_app.fleet_json import fleet_json, row_json, site_json
from global_app.fleet_openapi import FLEET_BODY, FLEET_SITE_BODY
from global_app.fleet_rollouts import page_rollouts, rollout_text, row_rollout
from global_app.openapi import answers, body, query_parameters
from global_app.params import ParamError, parse_limit, parse_page, parse_site, parse_states, reject_unknown

HALF_HOUR = timedelta(minutes=30)
FLEET_PARAMETERS = ("state", "page", "limit")
fleet_api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_reader)])
fleet_pages = APIRouter(dependencies=[Depends(require_reader)])


class SiteNotFound(Exception):
    def __init__(self, site_id: str) -> None:
        super().__init__(site_id)
        self.site_id = site_id


def _store(request: Request) -> InsightStore:
    store: InsightStore = request.app.state.store
    return store


def _settings(request: Request) -> FleetSettings:
    settings: FleetSettings = request.app.state.fleet
    return settings


def _fleet_page(request: Request) -> FleetView:
    """The page the query asks for: ``state`` (comma-separated), ``page`` (from 1), ``limit`` sites."""
    params = dict(request.query_params)
    reject_unknown(params, FLEET_PARAMETERS)
    states = cast(tuple[SiteStateName, ...], parse_states(params, SITE_STATES))
    page, size = parse_page(params), parse_limit(params)
    settings = _settings(request)
    return fleet(_store(request), utc_now(), settings.thresholds(), settings.window, states, page, size)


def _history(request: Request, site: str, limit: int) -> SiteHistory:
    site_id = parse_site({"site": site})
    if site_id is None:
        raise ParamError("site", "must not be empty")
    settings = _settings(request)
    found = site_history(_store(request), site_id, utc_now(), settings.thresholds(), settings.window, limit)
    if found is None:
        raise SiteNotFound(site_id)
    return found


@fleet_api.get(
    "/fleet",
    response_class=Response,
    openapi_extra=query_parameters(*FLEET_PARAMETERS),
    responses={
        **body(FLEET_BODY, "Every site's state, versions, backlog and figures"),
        **answers(400, 401, 403, 503),
    },
)
def get_fleet(request: Request) -> Response:
    view = _fleet_page(request)
    # orjson straight to bytes: a thousand sites' body, without FastAPI's encoder walking it.
    document = {**fleet_json(view), "rollouts": page_rollouts(request, view.rows)}
    return Response(orjson.dumps(document), media_type="application/json")


@fleet_api.get(
    "/fleet/{site}",
    openapi_extra=query_parameters("limit"),
    responses={**body(FLEET_SITE_BODY, "One site's state and history"), **answers(400, 401, 403, 404, 503)},
)
def get_fleet_site(request: Request, site: str) -> dict[str, Any]:
    params = dict(request.query_params)
    reject_unknown(params, ("limit",))
    history = _history(request, site, parse_limit(params))
    return {**site_json(history), "rollout": row_rollout(request, history.row)}


def _render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    context = {
        "auth_mode": request.app.state.authenticator.mode,
        "principal": getattr(request.state, "principal", None),
        "signed_in_by_session": request.app.state.sign_in is not None
        and "authorization" not in request.headers,
        "quote": lambda text: quote(text, safe=""),  # a site id as one path segment
        **context,
    }
    return templates.TemplateResponse(request, template, context, status_code=status)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def page_row(row: FleetRow) -> dict[str, Any]:
    """A table row's cells, as text: a thousand rows render without a template call per cell."""
    cells = row_json(row)
    version, champion = cells["serving_version"], cells["champion_version"]
    serving = f"{cells['serving_model']} {version}" if version else "—"
    return {
        **cells,
        "href": "/fleet/" + quote(row.site_id, safe=""),
        "serving_text": serving,
        "champion_note": f"champion {champion}" if champion and champion != version else "",
        "reasons_text": "; ".join(row.state.reasons),
        "backlog_text": "—" if cells["outbox_depth"] is None else f"{cells['outbox_depth']:,}",
        "anomaly_text": _percent(cells["anomaly_rate"]),
        "accuracy_text": _percent(cells["feedback_accuracy"]),
    }


def page_links(view: FleetView) -> dict[str, str | None]:
    """The pager's and the state filter's links, keeping the filter and page size."""
    paging = view.paging

    def link(number: int, states: tuple[str, ...]) -> str:
        query: dict[str, str | int] = {"state": ",".join(states)} if states else {}
        if number > 1:
            query["page"] = number
        if paging.size != PAGE_SIZE:
            query["limit"] = paging.size
        return "/fleet" + (f"?{urlencode(query)}" if query else "")

    links: dict[str, str | None] = {state: link(1, (state,)) for state in SITE_STATES}
    links["all"] = link(1, ())
    links["previous"] = link(paging.number - 1, paging.states) if paging.number > 1 else None
    links["next"] = link(paging.number + 1, paging.states) if paging.number < paging.pages else None
    return links


@fleet_pages.get("/fleet", response_class=HTMLResponse, include_in_schema=False)  # pages: not the API
def fleet_page(request: Request) -> HTMLResponse:
    view = _fleet_page(request)
    rollouts = {site: rollout_text(cells) for site, cells in page_rollouts(request, view.rows).items()}
    rows = [page_row(row) for row in view.rows]
    return _render(
        request, "fleet.html", {"view": view, "rows": rows, "links": page_links(view), "rollouts": rollouts}
    )


def history_charts(history: SiteHistory) -> list[LineChart]:
    """The site page's charts: backlog, relay lag and errors per heartbeat, anomaly rate per hour."""
    statuses = history.statuses
    lags = [(s.reported_at, s.relay_lag_s) for s in statuses if s.relay_lag_s is not None]
    errors = [(s.reported_at, float(s.scoring_errors + s.relay_failures)) for s in statuses]
    rates = [(rate.hour + HALF_HOUR, rate.anomaly_rate) for rate in history.rates]  # mid-hour
    return [
        line_chart("backlog", "Records waiting at the site", "records",
                   [(s.reported_at, float(s.outbox_depth)) for s in statuses]),
        line_chart("relay-lag", "Seconds since the relay last worked", "s", lags),
        line_chart("errors", "Scoring errors and relay failures per heartbeat", "errors", errors),
        line_chart("anomaly-rate", "Anomaly rate per hour", "%", rates),
    ]  # fmt: skip


@fleet_pages.get("/fleet/{site}", response_class=HTMLResponse, include_in_schema=False)
def fleet_site_page(request: Request, site: str) -> HTMLResponse:
    reject_unknown(dict(request.query_params), ())
    history = _history(request, site, HISTORY_LIMIT)
    rollout = rollout_text(row_rollout(request, history.row))
    context = {"history": history, "charts": history_charts(history), "rollout": rollout}
    return _render(request, "fleet_site.html", context)


def site_not_found(request: Request, exc: Exception) -> JSONResponse | HTMLResponse:
    assert isinstance(exc, SiteNotFound)
    message = f"no site {exc.site_id!r}: it never sent a status nor scored in the fleet's window"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "not_found", "message": message}, status_code=404)
    context = {"title": "No such site", "message": message}
    return _render(request, "fleet_missing.html", context, status=404)
