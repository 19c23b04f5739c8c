"""Liveness and readiness probes (Kubernetes style)."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from edgeloop.domain.cameras import CameraState
from scoring_app.context import AppContext, context_of
from scoring_app.errors import json_response

router = APIRouter(tags=["health"])
_DRIFT_OFF = {"status": "unavailable", "window_rows": 0, "features": {}}


@router.get("/healthz", summary="Alive")
async def healthz() -> Response:
    return json_response({"status": "alive"})


def _model_check(ctx: AppContext) -> dict[str, object]:
    holder = ctx.components.model
    requested = list(ctx.settings.execution_providers)
    if (waiting := holder.waiting_reason) is not None:  # a new site before its first champion
        return {"ok": False, "reason": waiting, "execution_providers_requested": requested}
    model = holder.current
    return {
        "ok": True,
        "name": model.manifest.name,
        "version": model.manifest.version,
        # The session's own list, best first: after a fallback it shows what really runs.
        "execution_providers": list(model.execution_providers),
        "execution_providers_requested": requested,
    }


def _readiness(ctx: AppContext) -> tuple[bool, dict[str, object]]:
    components = ctx.components
    model = _model_check(ctx)
    path = ctx.settings.outbox_path
    depth, capacity = components.outbox.depth(), components.outbox.capacity()
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    checks: dict[str, object] = {
        "model": model,
        "outbox": {
            "ok": writable and depth < capacity,
            "writable": writable,
            "depth": depth,
            "capacity": capacity,
            "full": depth >= capacity,
        },
        # Informational: scoring goes on while the uplink is down (the outbox holds the backlog).
        "relay": {
            "enabled": ctx.settings.relay_enabled,
            "consecutive_errors": components.relay_stats.consecutive_errors,
            "last_error": components.relay_stats.last_error,
        },
        "model_delivery": ctx.delivery.status() if ctx.delivery is not None else {"enabled": False},
        # Informational: drifting inputs are scored all the same (docs/drift.md).
        "drift": components.drift.summary() if components.drift is not None else _DRIFT_OFF,
        # Informational: a camera down is shown, and the site still scores what it is sent.
        "cameras": _cameras(ctx),
        # Informational: the shadow model is never in the answer; its drops and failures show here.
        "shadow": _shadow(ctx),
        "site_id": ctx.settings.site_id,
    }
    return bool(model["ok"]) and writable and depth < capacity, checks


def _shadow(ctx: AppContext) -> dict[str, object]:
    scorer = ctx.components.shadow
    if scorer is None:
        return {"enabled": False}
    stats = scorer.stats()
    pointer = ctx.shadow.status() if ctx.shadow is not None else {}
    return {
        "enabled": True,
        "version": stats.version,
        "queued": stats.queued,
        "capacity": stats.capacity,
        "rows": stats.rows,
        "dropped_rows": stats.dropped_rows,
        "failed_rows": stats.failed_rows,
        "last_error": stats.last_error or pointer.get("last_error"),
        "pointer": pointer,
    }


def _cameras(ctx: AppContext) -> dict[str, object]:
    if ctx.cameras is None:
        return {"enabled": False}
    statuses = ctx.cameras.statuses()
    return {
        "enabled": True,
        "streaming": sum(status.state is CameraState.STREAMING for status in statuses),
        "configured": len(statuses),
        "cameras": [status.as_dict() for status in statuses],
    }


@router.get(
    "/readyz",
    summary="Ready to score: model loaded, outbox writable and not full",
    responses={
        503: {
            "description": "Starting, or not ready (no model yet, outbox full or not writable): "
            "`detail` says why"
        }
    },
)
async def readyz(request: Request) -> Response:
    ctx: AppContext | None = getattr(request.app.state, "ctx", None)
    if ctx is None:
        return json_response({"status": "starting", "detail": "model not loaded yet"}, 503)
    ready, checks = await run_in_threadpool(_readiness, context_of(request))
    if not ready:
        problems = []
        model = checks["model"]
        assert isinstance(model, dict)
        if not model["ok"]:
            problems.append(str(model["reason"]))
        outbox = checks["outbox"]
        assert isinstance(outbox, dict)
        if outbox["full"]:
            problems.append(f"outbox full ({outbox['depth']} of {outbox['capacity']} records)")
        if not outbox["writable"]:
            problems.append(f"outbox file {ctx.settings.outbox_path} is not writable")
        return json_response({"status": "not ready", "detail": "; ".join(problems), "checks": checks}, 503)
    return json_response({"status": "ready", "checks": checks})
