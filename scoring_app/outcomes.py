"""Scoring from a route: through the batcher, with the outbox's refusals as HTTP answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edgeloop.ports import OutboxFull
from edgeloop.service_layer.scoring import ScoredBatch
from scoring_app.context import AppContext
from scoring_app.errors import ApiError


async def score_rows(ctx: AppContext, rows: Sequence[Any]) -> ScoredBatch:
    """Score and durably record ``rows``; InvalidInput (422) or ApiError 503 when the outbox is full."""
    try:
        scored = await ctx.batcher.score(rows)
    except OutboxFull as exc:
        raise outbox_full(ctx, exc) from None
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
