"""Waiting on a condition in tests: poll it, bounded, and fail saying what never happened."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    interval: float = 0.02,
    check: Callable[[], None] | None = None,
    details: Callable[[], str] | None = None,
) -> None:
    """Poll ``condition`` until it holds; after ``timeout`` seconds raise AssertionError naming ``what``.

    ``check`` runs between polls to fail fast (e.g. a child process died); ``details`` adds
    diagnostics (log tails) to the timeout's message.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if check is not None:
            check()
        if time.monotonic() > deadline:
            extra = f"\n{details()}" if details is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)
