"""The thread that drives model delivery: ``ModelDelivery.poll_once`` every few seconds.

Expected failures (an offline registry, a bad bundle) are handled inside ``poll_once``; anything
that escapes it is a bug: recorded for ``readyz``, logged, and the thread stops.
"""

from __future__ import annotations

import logging
import threading

from edgeloop.service_layer.model_delivery import ModelDelivery

logger = logging.getLogger(__name__)


class DeliveryPoller:
    """A daemon thread calling ``poll_once`` every ``interval`` seconds until stopped."""

    def __init__(self, delivery: ModelDelivery, interval: float) -> None:
        self._delivery = delivery
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-delivery", daemon=True)

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
