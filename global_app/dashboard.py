"""The dashboard page, ``GET /``: totals, one page of sites, a chart and the latest insights.

Thin: parse the query, call the bounded dashboard read (edgeloop.service_layer.dashboard_view),
render. Parameters: ``from``/``to`` (the range), ``sites_after`` (the sites table's keyset: the
last site id of the page before), and the insights list's ``site``, ``outcome`` (``anomalies``
or ``all``) and ``cursor`` (issued for those filters and the range, as /api/v1/insights' is).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from edgeloop.domain.insights_view import InsightQuery, risk_score
from edgeloop.ports import InsightStore
from edgeloop.service_layer.dashboard_view import LATEST, dashboard
from global_app.access import require_reader
from global_app.chart import anomaly_rate_chart
from global_app.params import (
    decode_cursor,
    encode_cursor,
    filter_scope,
    parse_choice,
    parse_range,
    parse_site,
    reject_unknown,
)

DASHBOARD_PARAMS = ("from", "to", "sites_after", "site", "outcome", "cursor")
OUTCOMES = ("anomalies", "all")
dashboard_pages = APIRouter(dependencies=[Depends(require_reader)])


def _link(params: dict[str, str], **changes: str | None) -> str:
    """This page's URL with ``changes`` applied (None: the parameter dropped), empty ones left out."""
    merged = {**params, **changes}
    query = urlencode({name: value for name, value in merged.items() if value})
    return f"/?{query}" if query else "/"


@dashboard_pages.get("/", response_class=HTMLResponse)
def dashboard_page(request: Request) -> HTMLResponse:
    params = dict(request.query_params)
    reject_unknown(params, DASHBOARD_PARAMS)
    start, end = parse_range(params)
    site, sites_after = parse_site(params), parse_site(params, "sites_after")
    anomalies_only = parse_choice(params, "outcome", OUTCOMES) == "anomalies"
    scope = filter_scope(site, start, end, anomalies_only)  # the API's: its cursors page here too
    latest = InsightQuery(site, start, end, anomalies_only, LATEST, decode_cursor(params, scope))
    store: InsightStore = request.app.state.store
    view = dashboard(store, start, end, latest, sites_after, pool=request.app.state.read_pool)
    next_cursor = view.latest.next_after
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "view": view,
            "chart": anomaly_rate_chart(view.rates, view.chart_start, view.chart_end),
            "auth_mode": request.app.state.authenticator.mode,
            "principal": request.state.principal,
            "signed_in_by_session": request.app.state.sign_in is not None
            and "authorization" not in request.headers,
            "risk_score": risk_score,
            "params": params,
            "next_sites": _link(params, sites_after=view.next_sites_after) if view.next_sites_after else None,
            "first_sites": _link(params, sites_after=None) if sites_after else None,
            "older": _link(params, cursor=encode_cursor(next_cursor, scope)) if next_cursor else None,
            "newest": _link(params, cursor=None) if "cursor" in params else None,
        },
    )
