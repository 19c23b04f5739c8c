"""The relay: moves records from the on-site outbox to the insights queue.

At-least-once: a batch is marked sent only after the queue acknowledged every
message holding its records. A crash between the send and the mark resends the
batch later (a duplicate with the same ``insight_id``, which consumers drop); a
record is never marked sent before the queue has it.

Many records from many batches share one packed message, which keeps the number
of queue transactions (the cost driver) low.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edgeloop.domain.packing import pack_records
from edgeloop.ports import ClaimedBatch, OutboxReader, QueueSender, QueueUnavailable

logger = logging.getLogger(__name__)

DEFAULT_BATCH_LIMIT = 5000
DEFAULT_LEASE_SECONDS = 120.0

# What a relay attempt may run into and recover from by waiting: the uplink or queue is
# down, or the outbox file is busy/locked beyond its busy timeout.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (QueueUnavailable, sqlite3.OperationalError)


@dataclass
class RelayStats:
    """Counters for metrics; written by the relay's thread only, read by anyone."""

    sent_messages: int = 0
    sent_records: int = 0
    errors: int = 0
    consecutive_errors: int = 0
    last_error: str = ""
    last_success_at: float | None = None  # unix time of the last attempt that did not fail
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
        batch_limit: int = DEFAULT_BATCH_LIMIT,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        on_error: Callable[[Exception], None] | None = None,
        stats: RelayStats | None = None,
    ) -> None:
        if batch_limit <= 0:
            raise ValueError("batch_limit must be positive")
        self._outbox = outbox
        self._sender = sender
        self._batch_limit = batch_limit
        self._lease_seconds = lease_seconds
        self._on_error = on_error
        self.stats = stats or RelayStats()
        self._run_lock = threading.Lock()
        self._wake = threading.Event()

    @property
    def batch_limit(self) -> int:
        return self._batch_limit

    def wake(self) -> None:
        """Ask an idle loop to look at the outbox now (e.g. right after an append)."""
        self._wake.set()

    def run_once(self) -> int:
        """Send what is waiting, up to about ``batch_limit`` records; returns records sent.

        Raises what the queue or outbox raised (after giving back unsent batches).
        """
        with self._run_lock:
            batches = self._outbox.claim(self._batch_limit, self._lease_seconds)
            if not batches:
                return 0
            return self._deliver(batches)

    def _deliver(self, batches: Sequence[ClaimedBatch]) -> int:
        records = [record for batch in batches for record in batch.records]
        ends: list[int] = []  # where each batch's records end in ``records``
        for batch in batches:
            ends.append((ends[-1] if ends else 0) + len(batch.records))
        acknowledged = 0  # records of ``records`` the queue has, in order
        settled = 0  # batches marked sent
        try:
            for body, count in pack_records(records):
                self._sender.send(body)
                acknowledged += count
                self.stats.sent_messages += 1
                self.stats.sent_records += count
                done = settled
                while done < len(batches) and ends[done] <= acknowledged:
                    done += 1
                if done > settled:
                    self._outbox.mark_sent([batch.batch_id for batch in batches[settled:done]])
                    settled = done
        finally:
            if settled < len(batches):
                self._give_back(batches[settled:])
        return acknowledged

    def _give_back(self, batches: Sequence[ClaimedBatch]) -> None:
        try:
            self._outbox.release([batch.batch_id for batch in batches])
        except sqlite3.Error:
            # Not fatal: the lease runs out and the batches are sent then. The error that
            # brought us here is the one worth raising.
            logger.warning("could not release %d outbox batches; their lease will expire", len(batches))

    def _record_error(self, error: Exception) -> None:
        self.stats.errors += 1
        self.stats.consecutive_errors += 1
        self.stats.last_error = f"{type(error).__name__}: {error}"
        if self._on_error is not None:
            self._on_error(error)

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
            self.stats.consecutive_errors = 0
            self.stats.last_success_at = time.time()
            if sent < self._batch_limit:
                self._wait(stop, idle_wait)  # caught up; a full batch means more may be waiting

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
