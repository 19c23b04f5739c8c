"""Scoring a request from the event loop: evaluate, commit through the group committer, answer.

A handful of rows are scored on the event loop itself: onnxruntime takes
microseconds for them, less than a hop to a worker thread. Larger requests are
evaluated in a worker thread so the loop keeps serving. Either way the request
waits (without blocking the loop) until the outbox transaction holding its
insights committed: nothing is acknowledged before it is durable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from edgeloop.ports import OutboxFull
from edgeloop.service_layer.group_commit import CommitterStopped
from edgeloop.service_layer.scoring import Evaluation, ScoredBatch
from scoring_app.context import AppContext
from scoring_app.errors import ApiError


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the client went away; the records are committed all the same
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _committed_future() -> tuple[asyncio.Future[None], Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def done(error: BaseException | None) -> None:
        loop.call_soon_threadsafe(_settle, future, error)

    return future, done


async def score_rows(ctx: AppContext, rows: Sequence[Any]) -> ScoredBatch:
    """Score and durably record ``rows``; ApiError 503 when the outbox cannot take them."""
    service = ctx.components.scoring
    committer = ctx.components.committer
    future, done = _committed_future()
    try:
        if len(rows) <= ctx.settings.inline_rows:
            evaluation = service.evaluate(rows)
            scored_at = service.now()

            def build(batch_id: str, offset: int) -> tuple[ScoredBatch, list[bytes]]:
                scored = evaluation.build(batch_id, offset)
                return scored, evaluation.records(service.site_id, scored_at, scored)

            scored = committer.join_group(evaluation.n_rows, build, done)
        else:
            scored, records = await run_in_threadpool(_evaluate_alone, ctx, rows)
            committer.commit_alone(scored.batch_id, records, done)
        await future
    except OutboxFull as exc:
        raise outbox_full(ctx, exc) from None
    except CommitterStopped:
        raise ApiError(503, "the scoring service is shutting down", retry_after(ctx)) from None
    ctx.metrics.record_scoring(len(scored.results), scored.anomaly_counts)
    return scored


def _evaluate_alone(ctx: AppContext, rows: Sequence[Any]) -> tuple[ScoredBatch, list[bytes]]:
    service = ctx.components.scoring
    evaluation: Evaluation = service.evaluate(rows)
    scored_at = service.now()
    scored = evaluation.build(service.new_batch_id())
    return scored, evaluation.records(service.site_id, scored_at, scored)


def retry_after(ctx: AppContext) -> dict[str, str]:
    return {"Retry-After": str(ctx.settings.retry_after_seconds)}


def outbox_full(ctx: AppContext, exc: OutboxFull) -> ApiError:
    return ApiError(
        503,
        f"the site's outbox is full ({exc.depth} of {exc.capacity} records wait for the uplink); "
        "nothing was recorded, retry later",
        retry_after(ctx),
    )
