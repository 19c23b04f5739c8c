"""The shadow report as JSON: /api/v1/models/{name}/shadow.

Thin: parse ``site`` (one site; absent: every site with insights), ``rows`` (the newest shadow
insights read per site) and ``tolerance`` (regression agreement), call the report use case
(edgeloop.service_layer.shadow_report), answer. Behind the dashboard's access rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request

from edgeloop.domain.records import TASK_KINDS
from edgeloop.ports import InsightStore
from edgeloop.service_layer.shadow_report import DEFAULT_REPORT_ROWS, shadow_report
from global_app.access import require_reader
from global_app.openapi import answers, body, query_parameters
from global_app.params import ParamError, parse_site, reject_unknown

MAX_REPORT_ROWS = 100_000
MAX_TOLERANCE = 1e12
SHADOW_PARAMETERS = ("site", "rows", "tolerance")
shadow_api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_reader)])

_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_ERROR = {"type": ["number", "null"], "minimum": 0}
_SUMMARY_PROPERTIES: dict[str, Any] = {
    "site_id": {"type": "string"},
    "model": {"type": "string"},
    "served_version": {"type": "string", "description": "The version in the answers"},
    "shadow_version": {"type": "string", "description": "The version scored in shadow"},
    "task": {"enum": list(TASK_KINDS)},
    "rows": {"type": "integer", "minimum": 0},
    "agreement_rate": {**_RATE, "description": "Same anomaly flag, class, or value within the tolerance"},
    "labelled": {"type": "integer", "minimum": 0, "description": "Rows with feedback both were judged on"},
    "served_accuracy": {**_RATE, "description": "Classification; null for a regression or no labels"},
    "shadow_accuracy": _RATE,
    "served_mean_abs_error": {**_ERROR, "description": "Regression; null otherwise or with no labels"},
    "shadow_mean_abs_error": _ERROR,
}
SHADOW_BODY = {
    "type": "object",
    "required": ["model", "summaries"],
    "properties": {
        "model": {"type": "string"},
        "summaries": {
            "type": "array",
            "description": "Per site and (served, shadow) version pair, a site's newest pair first",
            "items": {
                "type": "object",
                "required": list(_SUMMARY_PROPERTIES),
                "properties": _SUMMARY_PROPERTIES,
            },
        },
    },
}
_EXTRA_PARAMETERS = [
    {
        "name": "rows",
        "in": "query",
        "required": False,
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_REPORT_ROWS,
            "default": DEFAULT_REPORT_ROWS,
        },
        "description": "The newest shadow insights read per site",
    },
    {
        "name": "tolerance",
        "in": "query",
        "required": False,
        "schema": {"type": "number", "minimum": 0, "maximum": MAX_TOLERANCE, "default": 0},
        "description": "A regression's shadow agrees within this absolute difference",
    },
]


def _rows(params: Mapping[str, str]) -> int:
    raw = params.get("rows") or str(DEFAULT_REPORT_ROWS)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REPORT_ROWS:
        raise ParamError("rows", f"expected a whole number from 1 to {MAX_REPORT_ROWS}, got {raw[:40]!r}")
    return int(raw)


def _tolerance(params: Mapping[str, str]) -> float:
    raw = params.get("tolerance") or "0"
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_TOLERANCE:  # NaN fails too
        raise ParamError("tolerance", f"expected a number from 0 to {MAX_TOLERANCE:g}, got {raw[:40]!r}")
    return value


@shadow_api.get(
    "/models/{name}/shadow",
    openapi_extra={"parameters": [*query_parameters("site")["parameters"], *_EXTRA_PARAMETERS]},
    responses={
        **body(SHADOW_BODY, "The shadowed challenger against the served model, per site"),
        **answers(400, 401, 403, 503),
    },
)
def get_shadow_report(name: str, request: Request) -> dict[str, Any]:
    params = dict(request.query_params)
    reject_unknown(params, SHADOW_PARAMETERS)
    site = parse_site(params)
    rows, tolerance = _rows(params), _tolerance(params)
    store: InsightStore = request.app.state.store
    summaries = shadow_report(store, name, None if site is None else [site], rows=rows, tolerance=tolerance)
    return {"model": name, "summaries": [summary.to_dict() for summary in summaries]}
