"""The relay: moves records from the on-site outbox to the insights queue.

At-least-once: an outbox entry is marked sent only after the queue acknowledged
every message holding its records. A crash between the send and the mark resends
the entry later (a duplicate with the same ``insight_id``, which consumers drop); a
record is never marked sent before the queue has it.

Many records from many entries share one packed message, which keeps the number
of queue transactions (the cost driver) low. A queue takes one message per call
(no batched send) and a call costs a round trip, so several messages are in
flight at once (``max_in_flight``); they may land in any order, which a queue
does not promise to keep anyway.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import accumulate

from edgeloop.observability.tracing import NO_TRACER
from edgeloop.ports import (
    ClaimedEntry,
    OutboxError,
    OutboxReader,
    OutboxUnavailable,
    QueueSender,
    QueueUnavailable,
    Tracer,
)
from edgeloop.wire.insight_columns import document_traceparent
from edgeloop.wire.packing import pack_items
from edgeloop.wire.trace_context import distinct_traceparents

logger = logging.getLogger(__name__)

# Records one attempt claims: enough for several full messages to be in flight together.
DEFAULT_CLAIM_LIMIT = 20_000
DEFAULT_LEASE_SECONDS = 120.0
DEFAULT_MAX_IN_FLIGHT = 4

# What a relay attempt may run into and recover from by waiting: the uplink or queue is
# down, or the outbox is busy, locked or failing for now.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (QueueUnavailable, OutboxUnavailable)


@dataclass
class RelayStats:
    """Counters for metrics; written by the relay's thread only, read by anyone."""

    sent_messages: int = 0
    sent_records: int = 0
    errors: int = 0
    consecutive_errors: int = 0
    last_error: str = ""  # of the failing attempts since the last success; "" once one succeeds
    last_success_at: float | None = None  # unix time of the last attempt that did not fail
    last_sent_at: float | None = None  # unix time records were last acknowledged by the queue
    stopped_by: str = ""  # set when the loop ended on an unexpected error


def backoff_delay(failures: int, initial: float, cap: float, rng: random.Random) -> float:
    """Exponential back-off with a cap, jittered so several relays do not retry in step."""
    ceiling = min(cap, initial * 2 ** max(0, failures - 1))
    return rng.uniform(ceiling / 2, ceiling)


class OutboxRelay:
    def __init__(
        self,
        outbox: OutboxReader,
        sender: QueueSender,
        *,
        claim_limit: int = DEFAULT_CLAIM_LIMIT,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        on_error: Callable[[Exception], None] | None = None,
        stats: RelayStats | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        tracer: Tracer = NO_TRACER,
    ) -> None:
        if claim_limit <= 0:
            raise ValueError("claim_limit must be positive")
        if max_in_flight <= 0:
            raise ValueError("max_in_flight must be positive")
        # Sends run on these threads (a QueueSender is safe to call from several at once).
        self._senders = (
            ThreadPoolExecutor(max_in_flight, thread_name_prefix="outbox-send") if max_in_flight > 1 else None
        )
        self._outbox = outbox
        self._sender = sender
        self._claim_limit = claim_limit
        self._lease_seconds = lease_seconds
        self._on_error = on_error
        self.stats = stats or RelayStats()
        self._run_lock = threading.Lock()
        self._last_messages = 0  # messages the last attempt packed
        self._wake = threading.Event()
        self._tracer = tracer

    def close(self) -> None:
        """Stop the send threads (after the current attempt)."""
        if self._senders is not None:
            self._senders.shutdown(wait=True)

    def wake(self) -> None:
        """Ask an idle loop to look at the outbox now (e.g. right after an append)."""
        self._wake.set()

    def run_once(self) -> int:
        """Send what is waiting, up to about ``claim_limit`` records; returns records sent.

        Raises what the queue or outbox raised (after giving back unsent entries).
        """
        with self._run_lock:
            entries = self._outbox.claim(self._claim_limit, self._lease_seconds)
            if not entries:
                self._last_messages = 0
                return 0
            return self._deliver(entries)

    def _deliver(self, entries: Sequence[ClaimedEntry]) -> int:
        items = [item for entry in entries for item in entry.items]
        if not self._tracer.enabled:
            return self._deliver_items(entries, items, None)
        # One span per attempt: a child of the first traced scoring it carries, linking the
        # others; its traceparent goes in every message's header.
        scorings = distinct_traceparents(map(document_traceparent, items))
        with self._tracer.span(
            "edgeloop.relay.send",
            parent=scorings[0] if scorings else None,
            links=scorings[1:],
            attributes={"edgeloop.records": sum(entry.record_count for entry in entries)},
            kind="producer",
        ) as traceparent:
            return self._deliver_items(entries, items, traceparent)

    def _deliver_items(
        self, entries: Sequence[ClaimedEntry], items: list[bytes], traceparent: str | None
    ) -> int:
        bodies = pack_items(items, traceparent=traceparent)
        # Message k holds items firsts[k] to firsts[k + 1] - 1.
        firsts = list(accumulate((count for _, count in bodies), initial=0))[:-1]
        acked = [False] * len(bodies)
        self._last_messages = len(bodies)
        try:
            self._send_all([body for body, _ in bodies], acked)
        finally:
            sent = self._settle(entries, firsts, acked)
        return sent

    def _send_all(self, bodies: Sequence[bytes], acked: list[bool]) -> None:
        """Send every body, several at once; ``acked[k]`` once the queue has body k.

        Raises the first failure, once no send is in flight any more.
        """
        if self._senders is None or len(bodies) == 1:
            for index, body in enumerate(bodies):
                self._sender.send(body)
                acked[index] = True
                self.stats.sent_messages += 1
            return
        futures = [self._senders.submit(self._sender.send, body) for body in bodies]
        wait(futures)
        errors = [future.exception() for future in futures]
        for index, error in enumerate(errors):
            acked[index] = error is None
        self.stats.sent_messages += sum(acked)
        for error in errors:
            if error is not None:
                raise error

    def _settle(self, entries: Sequence[ClaimedEntry], firsts: list[int], acked: list[bool]) -> int:
        """Mark sent the entries whose every message the queue has, give the rest back; records sent."""
        sent: list[ClaimedEntry] = []
        unsent: list[ClaimedEntry] = []
        begin = 0
        for entry in entries:
            end = begin + len(entry.items)
            holding = range(bisect_right(firsts, begin) - 1, bisect_right(firsts, end - 1))
            (sent if all(acked[k] for k in holding) else unsent).append(entry)
            begin = end
        try:
            if sent:
                self._outbox.mark_sent([entry.entry_id for entry in sent])
                self.stats.sent_records += sum(entry.record_count for entry in sent)
                self.stats.last_sent_at = time.time()
        finally:
            if unsent:
                self._give_back(unsent)
        return sum(entry.record_count for entry in sent)

    def _give_back(self, entries: Sequence[ClaimedEntry]) -> None:
        try:
            self._outbox.release([entry.entry_id for entry in entries])
        except OutboxError:
            # Not fatal: the lease runs out and the entries are sent then. The error that
            # brought us here is the one worth raising.
            logger.warning("could not release %d outbox entries; their lease will expire", len(entries))

    def _record_error(self, error: Exception) -> None:
        self.stats.errors += 1
        self.stats.consecutive_errors += 1
        self.stats.last_error = f"{type(error).__name__}: {error}"
        if self._on_error is not None:
            self._on_error(error)

    def _record_success(self) -> None:
        # The outage is over: /readyz must not keep showing its error.
        self.stats.consecutive_errors = 0
        self.stats.last_error = ""
        self.stats.last_success_at = time.time()

    def run_forever(
        self,
        stop: threading.Event,
        *,
        idle_wait: float = 1.0,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        """Relay until ``stop`` is set (call :meth:`wake` too, to end an idle wait at once).

        Backs off exponentially (capped) while the queue is unavailable; the backlog stays
        in the outbox. An unexpected error is logged, noted in ``stats.stopped_by`` and
        raised: the loop ends rather than spin on a bug.
        """
        rng = rng or random.Random()
        while not stop.is_set():
            try:
                sent = self.run_once()
            except RETRYABLE_ERRORS as error:
                self._record_error(error)
                delay = backoff_delay(self.stats.consecutive_errors, initial_backoff, max_backoff, rng)
                logger.warning("relay attempt failed (%s); retrying in %.1fs", self.stats.last_error, delay)
                self._wait(stop, delay)
                continue
            except Exception as error:
                self._record_error(error)
                self.stats.stopped_by = self.stats.last_error
                logger.exception("outbox relay stopped on an unexpected error")
                raise
            self._record_success()
            # Caught up when the attempt found less than a claim's worth and at most one message of
            # it: then the records of the next idle period go together. More than a message, and
            # the next one is probably full already: go on.
            if sent < self._claim_limit and self._last_messages <= 1:
                self._wait(stop, idle_wait)

    def _wait(self, stop: threading.Event, timeout: float) -> None:
        if not stop.is_set() and self._wake.wait(timeout):
            self._wake.clear()

    def start(self, **loop_options: float) -> RelayThread:
        """Run :meth:`run_forever` on a daemon thread; stop it with ``RelayThread.stop``."""
        return RelayThread(self, **loop_options)


class RelayThread:
    """A relay loop on its own thread."""

    def __init__(self, relay: OutboxRelay, **loop_options: float) -> None:
        self.relay = relay
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=relay.run_forever,
            args=(self._stop,),
            kwargs=loop_options,
            name="outbox-relay",
            daemon=True,
        )
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the loop to end and wait for its current attempt to finish."""
        self._stop.set()
        self.relay.wake()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"outbox relay did not stop within {timeout:.0f}s")
        self.relay.close()
