"""The edge scoring app: ``create_app(settings=None)`` builds it; the lifespan wires the core.

Run it with ``python -m scoring_app`` (uvicorn, settings host/port/workers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from edgeloop.bootstrap.scoring import ScoringComponents, build_scoring
from edgeloop.bootstrap.tracing import configure_tracing
from edgeloop.config.cameras import CameraSettings
from edgeloop.config.scoring import ScoringSettings
from edgeloop.ports import FrameScorer, Tracer
from scoring_app.auth import Guard
from scoring_app.context import AppContext
from scoring_app.decoding.score_body import ScoreBodyReader
from scoring_app.errors import install_error_handlers
from scoring_app.fast_route import DirectRoute, find_route
from scoring_app.grouping import RequestGrouper
from scoring_app.interpreter import serving_interpreter
from scoring_app.openapi import install_openapi
from scoring_app.routes import admin, api, frames, health, image_form, images, metrics, web
from scoring_app.site_parts import start_site_parts
from scoring_app.telemetry import RequestMetricsMiddleware, ScoringMetrics
from scoring_app.tracing import ScoringSpans

HERE = Path(__file__).resolve().parent
SCORE_PATH = "/api/v1/score"
FEEDBACK_PATH = "/api/v1/feedback"
FORM_SCORE_PATH = "/form/score"


def create_app(
    settings: ScoringSettings | None = None,
    camera_settings: CameraSettings | None = None,
    frame_scorer: FrameScorer | None = None,
) -> FastAPI:
    """None: camera settings from the environment, frames scored by the served model (bootstrap.cameras)."""
    settings = settings or ScoringSettings()
    telemetry = ScoringMetrics()
    templates = Jinja2Templates(directory=HERE / "templates")
    tracer = configure_tracing("edgeloop-scoring")  # no-op unless an exporter is configured

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Loading the model and opening the outbox touch the disk: off the event loop.
        components = await run_in_threadpool(build_scoring, settings, tracer)
        _show_live_figures(telemetry, components)
        parts = await start_site_parts(components, telemetry, camera_settings, frame_scorer)
        app.state.ctx = AppContext(
            settings=settings,
            components=components,
            guard=Guard(components.api_key, settings.form_open, components.admin_key),
            grouper=RequestGrouper(
                components.scoring, components.model, ScoreBodyReader(settings.max_rows), tracer=tracer
            ),
            metrics=telemetry,
            templates=templates,
            delivery=parts.delivery,
            frames=parts.frames,
            cameras=parts.cameras,
            shadow=parts.shadow,
        )
        with serving_interpreter():
            try:
                yield
            finally:
                await parts.stop()
                await run_in_threadpool(components.close)

    app = FastAPI(
        title="Edgeloop edge scoring",
        description="Scores machine readings with the site's model; every scoring is recorded as an insight.",
        version="1",
        lifespan=lifespan,
        # Metrics are Prometheus (/metrics); FastAPI's own OpenTelemetry hooks would only add a
        # per-request provider lookup.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_error_handlers(app, settings.retry_after_seconds)
    for module in (api, images, admin, frames, web, image_form, health, metrics):
        app.include_router(module.router)
    _add_middleware(app, settings, telemetry, tracer)
    install_openapi(app, SCORE_PATH, settings.max_rows, FEEDBACK_PATH)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


def _show_live_figures(telemetry: ScoringMetrics, components: ScoringComponents) -> None:
    """What /metrics and /readyz read from the running components at each request."""
    telemetry.live.outbox_depth = components.outbox.depth
    telemetry.live.outbox_capacity = components.outbox.capacity
    telemetry.live.outbox_oldest_age = components.outbox.oldest_pending_age
    telemetry.live.relay_stats = components.relay_metrics
    telemetry.live.execution_providers = lambda: (
        components.model.current.execution_providers if components.model.loaded else ()
    )


def _add_middleware(
    app: FastAPI, settings: ScoringSettings, telemetry: ScoringMetrics, tracer: Tracer
) -> None:
    # The direct route first, so it runs inside the metrics middleware (the last one added is
    # the outermost); the request's span, when traced, covers all of it.
    score_route = find_route(api.router.routes, SCORE_PATH, "POST")
    app.add_middleware(DirectRoute, route=score_route, retry_after_seconds=settings.retry_after_seconds)
    app.add_middleware(RequestMetricsMiddleware, metrics=telemetry)
    if tracer.enabled:
        app.add_middleware(ScoringSpans, tracer=tracer, paths=(SCORE_PATH, FORM_SCORE_PATH))
