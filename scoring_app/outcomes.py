"""Scoring from a route: through the batcher, with the outbox's refusals as HTTP answers."""

from __future__ import annotations

from edgeloop.ports import OutboxFull
from edgeloop.service_layer.scoring import MalformedBody, ScoredBatch
from edgeloop.service_layer.scoring_input import ScoringRequest
from scoring_app.context import AppContext
from scoring_app.errors import ApiError


async def score_rows(ctx: AppContext, request: ScoringRequest) -> ScoredBatch:
    """Score and durably record a request (its raw body or its rows).

    Raises InvalidInput (422), ApiError 400 for a body that is not JSON, 503 when the outbox is full.
    """
    try:
        scored = await ctx.batcher.score(request)
    except OutboxFull as exc:
        raise outbox_full(ctx, exc) from None
    except MalformedBody as exc:
        raise ApiError(400, str(exc)) from None
    ctx.metrics.record_scoring(scored.n_rows, scored.anomaly_counts)
    if ctx.delivery is not None:  # the auto-rollback rule watches each version's anomaly rate
        ctx.delivery.observe(scored.model_version, scored.n_rows, scored.anomalies)
    return scored


def outbox_full(ctx: AppContext, exc: OutboxFull) -> ApiError:
    return ApiError(
        503,
        f"the site's outbox is full ({exc.depth} of {exc.capacity} records wait for the uplink); "
        "nothing was recorded, retry later",
        {"Retry-After": str(ctx.settings.retry_after_seconds)},
    )
