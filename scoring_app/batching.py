"""Adaptive batching of scoring requests (as model servers do), off the event loop.

While one batch is scored and committed in a worker thread, requests that arrive
queue up; when it is done they all go together as the next batch. Idle, a lone
request goes at once (no timer, no added latency); busy, batches grow by
themselves and the per-request cost of the model call, the validation and the
outbox fsync shrinks. A request is answered only after the outbox transaction
holding its insights committed: nothing is acknowledged before it is durable.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from edgeloop.ports import OutboxFull
from edgeloop.service_layer.scoring import InvalidInput, ScoredBatch, ScoringService

logger = logging.getLogger(__name__)

# Rows per batch (a request larger than this is a batch of its own). Row numbers in an
# outbox batch have five digits, and a few thousand rows keep a batch's latency short.
MAX_BATCH_ROWS = 4096

_Waiting = tuple[Sequence[Any], "asyncio.Future[ScoredBatch]"]


class ScoringBatcher:
    def __init__(self, service: ScoringService, max_batch_rows: int = MAX_BATCH_ROWS) -> None:
        self._service = service
        self._max_rows = max_batch_rows
        self._waiting: deque[_Waiting] = deque()
        self._drainer: asyncio.Task[None] | None = None

    async def score(self, rows: Sequence[Any]) -> ScoredBatch:
        """Score and durably record ``rows``; raises InvalidInput, OutboxFull or the outbox's error."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ScoredBatch] = loop.create_future()
        self._waiting.append((rows, future))
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return await future

    def _next_batch(self) -> list[_Waiting]:
        batch = [self._waiting.popleft()]
        size = len(batch[0][0])
        while self._waiting and size + len(self._waiting[0][0]) <= self._max_rows:
            size += len(self._waiting[0][0])
            batch.append(self._waiting.popleft())
        return batch

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._next_batch()
                try:
                    outcomes = await run_in_threadpool(self._service.score_many, [rows for rows, _ in batch])
                except OutboxFull as exc:
                    _settle_all(batch, exc)
                except Exception as exc:
                    # Not swallowed: every request of the batch answers with it (a 500).
                    logger.exception("scoring a batch of %d requests failed", len(batch))
                    _settle_all(batch, exc)
                else:
                    for (_, future), outcome in zip(batch, outcomes, strict=True):
                        if future.done():  # the client went away; its insights are recorded anyway
                            continue
                        if isinstance(outcome, InvalidInput):
                            future.set_exception(outcome)
                        else:
                            future.set_result(outcome)
        finally:
            self._drainer = None


def _settle_all(batch: list[_Waiting], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
