"""Queue-triggered functions: batched polling, leases, retries and poison/dead-letter queues.

Follows the Functions host's queue listener: fetch ``batchSize`` messages while
at most ``newBatchThreshold`` are in flight; back off exponentially (from 100 ms
to ``maxPollingInterval``) while the queue is empty; keep a running message
invisible (renewed at half its lease); delete only after success; on failure make
it visible again after ``visibilityTimeout``, or, on its ``maxDequeueCount``-th
attempt, copy it to the failed-message queue and delete it. A message dequeued
more often than that (its host died mid-run) goes there without running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient
from azure.storage.queue import QueueMessage as StorageMessage

from edgeloop.wire.servicebus_envelope import MessageDecodeError
from localdev.functions_host.aio import IoRunner, wait_any
from localdev.functions_host.host_config import MIN_POLLING_INTERVAL
from localdev.functions_host.invocation import Invoker
from localdev.functions_host.loader import FunctionSpec

log = logging.getLogger(__name__)


class MessageConverter(Protocol):
    def convert(self, message: StorageMessage) -> object:
        """The trigger argument for ``message``; raises MessageDecodeError if unreadable."""

    def failed_text(self, message: StorageMessage, reason: str, description: str) -> str:
        """What to write to the poison/dead-letter queue."""


@dataclass(frozen=True)
class ListenerPolicy:
    queue_name: str
    failed_queue_name: str
    max_attempts: int
    retry_delay: int  # seconds a failed message stays invisible before its next attempt
    max_polling_interval: float
    lease: int  # seconds a running message is kept invisible, renewed at half
    fetch_count: Callable[[int], int]  # in-flight count -> how many to fetch now (0: wait)
    reason: str  # for the "Executing" log line


def batch_fetch(batch_size: int, new_batch_threshold: int) -> Callable[[int], int]:
    """Storage queues: a new batch whenever in-flight drops to the threshold."""
    return lambda in_flight: batch_size if in_flight <= new_batch_threshold else 0


def concurrency_fetch(max_concurrent: int) -> Callable[[int], int]:
    """Service Bus: keep up to ``max_concurrent`` messages running (32 per receive at most)."""
    return lambda in_flight: max(0, min(32, max_concurrent - in_flight))


class Backoff:
    """Randomised exponential back-off between empty polls (like the host's)."""

    def __init__(self, maximum: float, minimum: float = MIN_POLLING_INTERVAL) -> None:
        self._minimum, self._maximum = minimum, max(minimum, maximum)
        self._current = minimum

    def reset(self) -> None:
        self._current = self._minimum

    def next_delay(self) -> float:
        delay = self._current
        self._current = min(self._maximum, self._current * 2 * random.uniform(0.8, 1.2))
        return min(delay, self._maximum)


class MessageLease:
    """Keeps one running message invisible; owns its current pop receipt."""

    def __init__(self, queue: QueueClient, message: StorageMessage, lease: int, io: IoRunner) -> None:
        self._queue, self._message, self._lease, self._io = queue, message, lease, io
        self.pop_receipt: str = message.pop_receipt or ""
        self._done = asyncio.Event()
        self._task = asyncio.create_task(self._renew())

    async def _renew(self) -> None:
        while not await wait_any([self._done], self._lease / 2):
            try:
                updated = await self._io(
                    self._queue.update_message,
                    self._message.id,
                    self.pop_receipt,
                    visibility_timeout=self._lease,
                )
            except AzureError as exc:
                log.warning("message %s: lease renewal failed, it may run twice: %s", self._message.id, exc)
                return
            self.pop_receipt = updated.pop_receipt or self.pop_receipt

    async def end(self) -> None:
        """Stop renewing (after any renewal under way, so the pop receipt is current)."""
        self._done.set()
        await self._task


class QueueListener:
    def __init__(
        self,
        spec: FunctionSpec,
        policy: ListenerPolicy,
        converter: MessageConverter,
        queue: QueueClient,
        failed_queue: QueueClient,
        invoker: Invoker,
        io: IoRunner,
    ) -> None:
        self.spec, self.policy, self._converter = spec, policy, converter
        self._queue, self._failed_queue = queue, failed_queue
        self._invoker, self._io = invoker, io
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._slot_freed = asyncio.Event()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def stop(self) -> None:
        """Stop fetching; running invocations go on."""
        self._stopping.set()

    async def drain(self, timeout: float) -> int:
        """Wait for running invocations; how many were still running at the timeout."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)
        return len(self._running)

    async def run(self) -> None:
        backoff = Backoff(self.policy.max_polling_interval)
        while not self._stopping.is_set():
            self._slot_freed.clear()
            count = self.policy.fetch_count(self.in_flight)
            if count == 0:
                await wait_any([self._slot_freed, self._stopping], None)
                continue
            messages = await self._receive(count)
            if not messages:
                await wait_any([self._stopping], backoff.next_delay())
                continue
            backoff.reset()
            for message in messages:
                task = asyncio.create_task(self._process(message), name=f"{self.spec.name}:{message.id}")
                self._running.add(task)
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slot_freed.set()

    async def _receive(self, count: int) -> list[StorageMessage]:
        def first_page() -> list[StorageMessage]:
            pages = self._queue.receive_messages(
                messages_per_page=count, visibility_timeout=self.policy.lease
            ).by_page()
            return list(next(pages, []))

        try:
            return await self._io(first_page)
        except ResourceNotFoundError:
            return []  # the queue does not exist yet: like an empty one
        except AzureError as exc:
            log.warning("queue %s: receive failed, backing off: %s", self.policy.queue_name, exc)
            return []

    async def _process(self, message: StorageMessage) -> None:
        attempt = message.dequeue_count or 1
        receipt = message.pop_receipt or ""
        try:
            if attempt > self.policy.max_attempts:
                await self._move_to_failed(message, receipt, "MaxDequeueCountExceeded", "")
                return
            try:
                value = self._converter.convert(message)
            except MessageDecodeError as exc:
                await self._move_to_failed(message, receipt, "MessageDecodeFailed", str(exc))
                return
            lease = MessageLease(self._queue, message, self.policy.lease, self._io)
            try:
                result = await self._invoker.invoke(
                    self.spec, value, reason=self.policy.reason, message_id=message.id, dequeue_count=attempt
                )
            finally:
                await lease.end()
            if result.succeeded:
                await self._delete(message, lease.pop_receipt)
            elif attempt >= self.policy.max_attempts:
                await self._move_to_failed(
                    message, lease.pop_receipt, "MaxDequeueCountExceeded", repr(result.error)
                )
            else:
                await self._io(
                    self._queue.update_message,
                    message.id,
                    lease.pop_receipt,
                    visibility_timeout=self.policy.retry_delay,
                )
        except AzureError as exc:
            # Not acknowledged: the message reappears when its lease ends (at least once).
            log.error("message %s: storage call failed, it will be retried: %s", message.id, exc)

    async def _move_to_failed(
        self, message: StorageMessage, pop_receipt: str, reason: str, detail: str
    ) -> None:
        log.warning(
            "Message Id '%s' has reached MaxDequeueCount of %d (dequeue_count=%s reason=%s). "
            "Moving message to queue '%s'.",
            message.id, self.policy.max_attempts, message.dequeue_count, reason,
            self.policy.failed_queue_name,
        )  # fmt: skip
        text = self._converter.failed_text(message, reason, detail)
        try:
            await self._io(self._failed_queue.send_message, text)
        except ResourceNotFoundError:
            with contextlib.suppress(ResourceExistsError):  # made meanwhile by another listener
                await self._io(self._failed_queue.create_queue)
            await self._io(self._failed_queue.send_message, text)
        await self._delete(message, pop_receipt)

    async def _delete(self, message: StorageMessage, pop_receipt: str) -> None:
        try:
            await self._io(self._queue.delete_message, message.id, pop_receipt)
        except ResourceNotFoundError:
            log.debug("message %s: already deleted", message.id)
        except HttpResponseError as exc:
            if getattr(exc, "error_code", None) != "PopReceiptMismatch":
                raise
            log.warning("message %s: lease was lost before delete; another run owns it now", message.id)
