"""Scoring requests grouped as they arrive (adaptive batching, as model servers do), off the event loop.

While one group of requests is decoded, scored and committed in a worker thread,
requests that arrive wait; when it is done they all go together as the next group.
Idle, a lone request goes at once (no timer, no added latency); busy, groups grow by
themselves and the per-request cost of the model call, the validation and the
outbox fsync shrinks. A request is answered only after the outbox transaction
holding its insights committed. When a group's worth of rows is already waiting, a
second group starts while the first is under way, so one is scored while the other
waits for its commit's fsync; small requests are not split so (their groups would
only get smaller). A group is scored as one outbox batch (one batch id).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from starlette.concurrency import run_in_threadpool

from edgeloop.domain.problems import InvalidInput
from edgeloop.domain.validation import FeatureColumns
from edgeloop.observability.tracing import NO_TRACER
from edgeloop.ports import OutboxFull, Tracer
from edgeloop.service_layer.scored_rows import ScoredRows
from edgeloop.service_layer.scoring import ModelHolder, NoModelYet, ScoringService
from scoring_app.decoding.envelope import row_count_bound
from scoring_app.decoding.score_body import ScoreBodyReader
from scoring_app.errors import ApiError

logger = logging.getLogger(__name__)

# Rows per group (a request larger than this is a group of its own). Row numbers in an
# outbox batch have five digits, and a few thousand rows keep a group's latency short.
MAX_GROUP_ROWS = 4096
GROUPS_IN_FLIGHT = 2

# A body, a bound on its rows (row_count_bound: bodies are decoded in the group), its answer,
# and its request's span (a traceparent; None when tracing is off).
_Waiting = tuple[bytes, int, "asyncio.Future[ScoredRows]", str | None]
_Outcome = ScoredRows | InvalidInput | ApiError


class RequestGrouper:
    def __init__(
        self,
        service: ScoringService,
        models: ModelHolder,
        reader: ScoreBodyReader,
        max_group_rows: int = MAX_GROUP_ROWS,
        groups_in_flight: int = GROUPS_IN_FLIGHT,
        tracer: Tracer = NO_TRACER,
    ) -> None:
        self._service = service
        self._models = models
        self._reader = reader
        self._max_rows = max_group_rows
        self._max_drainers = groups_in_flight
        self._waiting: deque[_Waiting] = deque()
        self._waiting_rows = 0  # the row bounds of the requests in ``_waiting``
        self._drainers: set[asyncio.Task[None]] = set()
        self._tracer = tracer

    async def score(self, body: bytes) -> ScoredRows:
        """Decode, score and durably record a scoring body.

        Raises InvalidInput, ApiError (not JSON), OutboxFull or the outbox's error.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ScoredRows] = loop.create_future()
        rows = row_count_bound(body)
        self._waiting.append((body, rows, future, self._tracer.current()))
        self._waiting_rows += rows
        busy = len(self._drainers)
        if busy == 0 or (busy < self._max_drainers and self._waiting_rows >= self._max_rows // 2):
            self._drainers.add(loop.create_task(self._drain()))
        return await future

    def score_group(
        self, bodies: list[bytes], traceparents: list[str | None] | None = None
    ) -> list[_Outcome]:
        """Each body's scored rows, or why it was refused; all read and scored with one model.

        One bad body never fails its neighbours; the outbox's refusal fails them all.
        """
        model = self._models.current
        outcomes: list[_Outcome | None] = []
        accepted: list[FeatureColumns] = []
        parents: list[str | None] = []
        for body, traceparent in zip(bodies, traceparents or [None] * len(bodies), strict=True):
            try:
                accepted.append(self._reader.columns(body, model.manifest))
                outcomes.append(None)
                parents.append(traceparent)
            except (InvalidInput, ApiError) as refused:
                outcomes.append(refused)
        scored = iter(self._service.score_many(model, accepted, parents))
        return [next(scored) if outcome is None else outcome for outcome in outcomes]

    def _next_group(self) -> list[_Waiting]:
        group = [self._waiting.popleft()]
        size = group[0][1]
        while self._waiting and size + self._waiting[0][1] <= self._max_rows:
            size += self._waiting[0][1]
            group.append(self._waiting.popleft())
        self._waiting_rows -= size
        return group

    async def _drain(self) -> None:
        try:
            await self._drain_waiting()
        finally:
            # At once, not in a done callback: a request arriving in between would count on
            # this drainer, which no longer looks at the queue.
            task = asyncio.current_task()
            if task is not None:
                self._drainers.discard(task)

    async def _drain_waiting(self) -> None:
        while self._waiting:
            group = self._next_group()
            try:
                outcomes = await run_in_threadpool(
                    self.score_group, [body for body, _, _, _ in group], [parent for *_, parent in group]
                )
            except Exception as exc:
                # Not swallowed: every request of the group answers with it (OutboxFull: a 503).
                if not isinstance(exc, OutboxFull | NoModelYet):
                    logger.exception("scoring a group of %d requests failed", len(group))
                _settle_all(group, exc)
            else:
                for (_, _, future, _), outcome in zip(group, outcomes, strict=True):
                    if future.done():  # the client went away; its insights are recorded anyway
                        continue
                    if isinstance(outcome, ScoredRows):
                        future.set_result(outcome)
                    else:
                        future.set_exception(outcome)


def _settle_all(group: list[_Waiting], error: BaseException) -> None:
    for _, _, future, _ in group:
        if not future.done():
            future.set_exception(error)
