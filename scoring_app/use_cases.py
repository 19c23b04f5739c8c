"""The use cases as the routes call them: off the event loop, each counted in the metrics.

Scoring bodies go through the request grouping (scoring_app/grouping.py); their errors
propagate for scoring_app/errors.py to answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool

from edgeloop.domain.images import UploadedImage
from edgeloop.domain.records import Label
from edgeloop.domain.validation import FeatureColumns
from edgeloop.ports import ScoringModel
from edgeloop.service_layer.feedback import FeedbackItem, FeedbackReceipt
from edgeloop.service_layer.frame_labelling import FrameLabelling
from edgeloop.service_layer.image_scoring import ScoredImages
from edgeloop.service_layer.scored_rows import ScoredRows
from scoring_app.context import AppContext


async def score_body(ctx: AppContext, body: bytes) -> ScoredRows:
    """Decode, score and durably record a scoring body (raises InvalidInput, ApiError, OutboxFull)."""
    scored = await ctx.grouper.score(body)
    _count(ctx, scored)
    return scored


async def score_columns(ctx: AppContext, model: ScoringModel, columns: FeatureColumns) -> ScoredRows:
    """Score and durably record rows validated against ``model``'s manifest.

    Raises OutboxFull or OutboxUnavailable (both answered 503 with Retry-After)."""
    scored = await run_in_threadpool(ctx.components.scoring.score, model, columns)
    _count(ctx, scored)
    return scored


async def score_images(ctx: AppContext, images: Sequence[UploadedImage]) -> ScoredImages:
    """Decode, score and durably record uploads (raises InvalidImages, NotAnImageModel, OutboxFull);
    then, when the site keeps frames, keep each file on site (never raises)."""
    scored = await run_in_threadpool(_score_and_keep, ctx, images)
    ctx.metrics.record_scoring(len(scored.images), scored.anomaly_counts())
    if ctx.delivery is not None:
        ctx.delivery.observe(scored.model_version, len(scored.images), scored.anomalies)
    return scored


def _score_and_keep(ctx: AppContext, images: Sequence[UploadedImage]) -> ScoredImages:
    scored = ctx.components.images.score_uploads(images)
    if ctx.frames is not None:  # the insights are committed: keeping comes after, in the same thread
        ctx.frames.keeping.keep_uploads(scored, images)
    return scored


async def record_feedback(ctx: AppContext, items: Sequence[FeedbackItem]) -> FeedbackReceipt:
    """Record every item or none (raises InvalidInput, UnknownInsights, OutboxFull)."""
    receipt = await run_in_threadpool(ctx.components.feedback.record, items)
    ctx.metrics.feedback_items.inc(len(receipt.feedback_ids))
    return receipt


async def label_frame(
    ctx: AppContext, labelling: FrameLabelling, frame_id: str, label: Label
) -> tuple[str, FeedbackReceipt]:
    """Record an operator's label of a kept frame as feedback on its insight (raises UnknownFrame,
    InvalidInput, UnknownInsights, OutboxFull)."""
    insight_id, receipt = await run_in_threadpool(labelling.label, frame_id, label)
    ctx.metrics.feedback_items.inc(len(receipt.feedback_ids))
    return insight_id, receipt


def _count(ctx: AppContext, scored: ScoredRows) -> None:
    ctx.metrics.record_scoring(scored.n_rows, scored.anomaly_counts)
    if ctx.delivery is not None:  # the auto-rollback rule watches each version's anomaly rate
        ctx.delivery.observe(scored.model_version, scored.n_rows, scored.anomalies)
