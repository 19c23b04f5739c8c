"""The browser form: server-rendered from the model manifest, posts to same-origin form routes.

Form routes are guarded by the session cookie + CSRF token issued by ``GET /``
(see scoring_app.auth); they score and record exactly like the API. What the form shows
of the model's task, and how it takes the actual outcome: scoring_app.form_views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.problems import InvalidInput
from edgeloop.domain.records import ON_SITE_CONTEXT_FIELDS
from edgeloop.ports import OutboxFull, OutboxUnavailable
from edgeloop.service_layer.feedback import FeedbackItem, RecentScoring, recent_scorings
from scoring_app.auth import CSRF_FIELD, SESSION_COOKIE
from scoring_app.context import AppContext, context_of
from scoring_app.decoding.score_body import validated_columns
from scoring_app.errors import ApiError, error_answer
from scoring_app.form_views import (
    detection_label_text,
    form_label,
    label_hint,
    label_text,
    outcome_control,
    prediction_column,
    prediction_view,
    reasons,
    recent_prediction,
)
from scoring_app.use_cases import record_feedback, score_columns

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 64 * 1024
CONTEXT_LABELS = {"product_id": "Product ID", "operator": "Operator", "notes": "Notes"}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    unit: str
    type: str
    min: float | None
    max: float | None
    categories: tuple[str, ...]


def _fields(manifest: ModelManifest) -> list[FormField]:
    return [
        FormField(
            spec.name,
            spec.description or spec.name.replace("_", " ").capitalize(),
            spec.unit,
            spec.type,
            spec.min,
            spec.max,
            spec.categories or (),
        )
        for spec in manifest.inputs
    ]


def _recent_rows(ctx: AppContext, manifest: ModelManifest) -> list[dict[str, Any]]:
    scorings: list[RecentScoring] = recent_scorings(ctx.components.outbox, ctx.settings.recent_limit)
    task = manifest.task
    return [
        {
            "insight_id": s.insight_id,
            "scored_at": s.scored_at[:19].replace("T", " "),
            "product_id": s.context.get("product_id"),
            "prediction": recent_prediction(task, s.outputs, s.prediction),
            "anomaly": s.anomaly,
            "reasons": reasons(s.anomaly_kinds),
            "model_version": s.model_version,
            "feedback": None if s.feedback is None else label_text(task, s.feedback),
        }
        for s in scorings
    ]


async def render_form(
    request: Request,
    ctx: AppContext,
    *,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    general_error: str | None = None,
    result: dict[str, Any] | None = None,
    flash: str | None = None,
    image: dict[str, Any] | None = None,
) -> Response:
    """The form page: a reading's fields, or for an image model a picture's (scoring_app/image_views.py)."""
    manifest = ctx.components.model.current.manifest
    session_id = request.cookies.get(SESSION_COOKIE) or ctx.guard.new_session_id()
    recent = await run_in_threadpool(_recent_rows, ctx, manifest) if ctx.guard.form_open else []
    response = ctx.templates.TemplateResponse(
        request,
        "index.html",
        {
            "site_id": ctx.settings.site_id,
            "model": {"name": manifest.name, "version": manifest.version},
            "form_open": ctx.guard.form_open,
            "image_form": manifest.image_input is not None,
            "image": image,
            "fields": _fields(manifest),
            "context_fields": [(name, CONTEXT_LABELS[name]) for name in ON_SITE_CONTEXT_FIELDS],
            "csrf_token": ctx.guard.csrf_token(session_id),
            "values": values or {},
            "errors": errors or {},
            "general_error": general_error,
            "result": result,
            "recent": recent,
            "prediction_column": prediction_column(manifest.task),
            "outcome": outcome_control(manifest.task),
            "flash": flash,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    if request.cookies.get(SESSION_COOKIE) != session_id:
        response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict", path="/")
    return response


def render_waiting(request: Request, ctx: AppContext, reason: str) -> Response:
    """The page of a site with no model yet: the reason, no form (503: nothing can be scored)."""
    response = ctx.templates.TemplateResponse(
        request, "index.html", {"site_id": ctx.settings.site_id, "waiting": reason}, status_code=503
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Retry-After"] = str(ctx.settings.retry_after_seconds)
    return response


@router.get("/", name="form_page")
async def form_page(request: Request) -> Response:
    ctx = context_of(request)
    if (waiting := ctx.components.model.waiting_reason) is not None:
        return render_waiting(request, ctx, waiting)
    flash = None
    task = ctx.components.model.current.manifest.task
    recorded = request.query_params.get("recorded")
    label = form_label(task, request.query_params.get("label"))
    if recorded and label is not None:
        flash = f"Thank you: insight {recorded} recorded as {label_text(task, label)}."
    return await render_form(request, ctx, flash=flash)


async def _read_form(request: Request, ctx: AppContext) -> FormData:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise ApiError(413, f"form larger than {MAX_FORM_BYTES} bytes")
    form = await request.form(max_files=0, max_fields=100)
    csrf = form.get(CSRF_FIELD)
    ctx.guard.check_form(request, csrf if isinstance(csrf, str) else None)
    return form


def _row_from_form(
    manifest: ModelManifest, form: FormData
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The row to score, the raw values (to refill the form) and per-field parse errors."""
    row: dict[str, Any] = {}
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for spec in manifest.inputs:
        raw = form.get(spec.name)
        text = raw.strip() if isinstance(raw, str) else ""
        values[spec.name] = text
        if not text:
            errors[spec.name] = "is required"
        elif spec.type == "number":
            try:
                row[spec.name] = float(text)
            except ValueError:
                errors[spec.name] = f"must be a number, got {text[:20]!r}"
        else:
            row[spec.name] = text
    for name in ON_SITE_CONTEXT_FIELDS:
        raw = form.get(name)
        text = raw.strip() if isinstance(raw, str) else ""
        values[name] = text
        if text:
            row[name] = text
    return row, values, errors


@router.post("/form/score", name="form_score")
async def form_score(request: Request) -> Response:
    ctx = context_of(request)
    form = await _read_form(request, ctx)
    if (waiting := ctx.components.model.waiting_reason) is not None:
        return render_waiting(request, ctx, waiting)
    model = ctx.components.model.current
    manifest = model.manifest
    row, values, errors = _row_from_form(manifest, form)
    if errors:
        return await render_form(request, ctx, status_code=422, values=values, errors=errors)
    try:
        scored = await score_columns(ctx, model, validated_columns(manifest, [row]))
    except InvalidInput as exc:
        for problem in exc.problems:
            errors.setdefault(problem.field or "form", problem.message)
        return await render_form(
            request, ctx, status_code=422, values=values, errors=errors, general_error=errors.get("form")
        )
    except (OutboxFull, OutboxUnavailable) as exc:
        answer = error_answer(exc, ctx.settings.retry_after_seconds)
        return await render_form(
            request, ctx, status_code=answer.status_code, values=values, general_error=str(answer.detail)
        )
    first = scored.row(0)
    result = {
        "insight_id": first.insight_id,
        "binary": manifest.task.kind == "binary",
        "prediction": prediction_view(manifest.task, first.outputs, first.prediction),
        "anomaly": first.anomaly,
        "reasons": reasons(first.anomaly_kinds),
        "model_name": scored.model_name,
        "model_version": scored.model_version,
    }
    return await render_form(request, ctx, values=values, result=result)


@router.post("/form/feedback", name="form_feedback")
async def form_feedback(request: Request) -> Response:
    ctx = context_of(request)
    form = await _read_form(request, ctx)
    if (waiting := ctx.components.model.waiting_reason) is not None:
        return render_waiting(request, ctx, waiting)
    task = ctx.components.model.current.manifest.task
    text = form.get("label") if "label" in form else detection_label_text(form)  # verdicts, missed boxes
    insight_id, label = form.get("insight_id"), form_label(task, text)
    if label is None or not isinstance(insight_id, str):
        return await render_form(request, ctx, status_code=422, general_error=label_hint(task, text))
    try:
        await record_feedback(ctx, [FeedbackItem(insight_id, label)])
    except InvalidInput as exc:
        message = "; ".join(problem.message for problem in exc.problems)
        status_code = error_answer(exc, ctx.settings.retry_after_seconds).status_code
        return await render_form(request, ctx, status_code=status_code, general_error=message)
    except (OutboxFull, OutboxUnavailable) as exc:
        answer = error_answer(exc, ctx.settings.retry_after_seconds)
        return await render_form(
            request, ctx, status_code=answer.status_code, general_error=str(answer.detail)
        )
    # Post/redirect/get: a reload does not send the feedback twice.
    url = request.url_for("form_page").include_query_params(recorded=insight_id, label=str(label))
    return RedirectResponse(str(url), status_code=303)
