"""Small asyncio helpers: blocking storage calls off the loop, waiting on events."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class IoRunner:
    """Runs the (synchronous) Azure SDK calls in a pool of their own, apart from user code."""

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self._executor = executor

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))


async def wait_any(events: Iterable[asyncio.Event], timeout: float | None) -> bool:
    """Wait until one of ``events`` is set or ``timeout`` passes; True if one was set."""
    events = list(events)
    if any(event.is_set() for event in events):
        return True
    waiters: list[asyncio.Task[Any]] = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return any(event.is_set() for event in events)
