"""The vision view: /vision (every site's cameras), /vision/{site} (defect rate per hour, class mix),
and the same as JSON (/api/v1/vision).

Thin, as the fleet's routes: parse, call the vision use case (edgeloop.service_layer.vision_views)
with the time now, render. Behind the same access rule as the dashboard (``require_reader``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from edgeloop.domain.records import utc_now
from edgeloop.domain.vision_view import CameraVision
from edgeloop.ports import InsightStore
from edgeloop.service_layer.vision_views import VisionView, vision
from global_app.access import require_reader
from global_app.fleet_chart import LineChart, line_chart
from global_app.openapi import answers, body, query_parameters
from global_app.params import ParamError, parse_range, parse_site, reject_unknown
from global_app.vision_json import VISION_BODY, vision_json

HALF_HOUR = timedelta(minutes=30)
API_PARAMETERS = ("site", "from", "to")
vision_api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_reader)])
vision_pages = APIRouter(dependencies=[Depends(require_reader)])


def _view(request: Request, allowed: tuple[str, ...], site_id: str | None = None) -> VisionView:
    params = dict(request.query_params)
    reject_unknown(params, allowed)
    if "site" in allowed:
        site_id = parse_site(params)
    start, end = parse_range(params)
    store: InsightStore = request.app.state.store
    return vision(store, utc_now(), start, end, site_id)


@vision_api.get(
    "/vision",
    openapi_extra=query_parameters(*API_PARAMETERS),
    responses={
        **body(VISION_BODY, "Per site and camera: frames, defects and class mix, per hour"),
        **answers(400, 401, 403, 503),
    },
)
def get_vision(request: Request) -> dict[str, Any]:
    return vision_json(_view(request, API_PARAMETERS))


def camera_name(camera: CameraVision) -> str:
    return "Uploaded images" if camera.is_uploads else camera.camera_id


def defect_chart(index: int, camera: CameraVision) -> LineChart:
    """The camera's defect rate per hour, a point mid-hour."""
    points = [(hour.hour + HALF_HOUR, hour.counts.defect_rate or 0.0) for hour in camera.hours]
    return line_chart(f"defect-rate-{index}", f"Defect rate per hour · {camera_name(camera)}", "%", points)


def _render(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    context = {
        "auth_mode": request.app.state.authenticator.mode,
        "principal": getattr(request.state, "principal", None),
        "signed_in_by_session": request.app.state.sign_in is not None
        and "authorization" not in request.headers,
        "quote": lambda text: quote(text, safe=""),  # a site id as one path segment
        "camera_name": camera_name,
        **context,
    }
    return templates.TemplateResponse(request, template, context)


@vision_pages.get("/vision", response_class=HTMLResponse, include_in_schema=False)  # pages: not the API
def vision_page(request: Request) -> HTMLResponse:
    return _render(request, "vision.html", {"view": _view(request, ("from", "to"))})


@vision_pages.get("/vision/{site}", response_class=HTMLResponse, include_in_schema=False)
def vision_site_page(request: Request, site: str) -> HTMLResponse:
    site_id = parse_site({"site": site})
    if site_id is None:
        raise ParamError("site", "must not be empty")
    view = _view(request, ("from", "to"), site_id)
    found = view.sites[0] if view.sites else None
    charts = [defect_chart(n, camera) for n, camera in enumerate(found.cameras)] if found else []
    context = {"view": view, "site_id": site_id, "site": found, "charts": charts}
    return _render(request, "vision_site.html", context)
