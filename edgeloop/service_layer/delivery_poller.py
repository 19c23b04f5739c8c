"""The thread that drives model delivery: ``ModelDelivery.poll_once`` every few seconds.

Expected failures (an offline registry, a bad bundle) are handled inside ``poll_once``; anything
that escapes it is a bug: recorded for ``readyz``, logged, and the thread stops.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

logger = logging.getLogger(__name__)


class Pollable(Protocol):
    """ModelDelivery, or ShadowDelivery (the shadow pointer's poll)."""

    def poll_once(self) -> str: ...
    def record_stop(self, error: BaseException) -> None: ...


class DeliveryPoller:
    """A daemon thread calling ``poll_once`` every ``interval`` seconds until stopped."""

    def __init__(self, delivery: Pollable, interval: float, name: str = "model-delivery") -> None:
        self._delivery = delivery
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> DeliveryPoller:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._delivery.poll_once()
            except Exception as exc:
                self._delivery.record_stop(exc)
                logger.exception("model delivery poller stopped on an unexpected error")
                raise
            self._stop.wait(self._interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
