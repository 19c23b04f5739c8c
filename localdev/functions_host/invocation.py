"""Run one invocation: async functions on the event loop, sync ones in a thread pool.

Each invocation is logged twice, like the real host ("Executing ..." then
"Executed ... (Succeeded|Failed, Id=..., Duration=...ms)"), with key=value fields
(``function=``, ``message_id=``, ``dequeue_count=``, ``duration_ms=``, ``outcome=``) to grep.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from localdev.functions_host.loader import FunctionSpec

log = logging.getLogger("localdev.functions_host.invocation")


class HostContext(func.Context):
    """The ``context`` argument the Python worker gives a function that asks for one."""

    def __init__(self, invocation_id: str, function_name: str, function_directory: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._local = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


@dataclass(frozen=True)
class InvocationResult:
    succeeded: bool
    duration_ms: float
    error: BaseException | None = None


class Invoker:
    def __init__(self, executor: ThreadPoolExecutor, function_directory: str) -> None:
        self._executor = executor
        self._function_directory = function_directory

    async def invoke(
        self,
        spec: FunctionSpec,
        value: object,
        *,
        reason: str,
        message_id: str | None = None,
        dequeue_count: int | None = None,
    ) -> InvocationResult:
        invocation_id = str(uuid.uuid4())
        fields = f"function={spec.name} invocation_id={invocation_id} message_id={message_id} " + (
            f"dequeue_count={dequeue_count}"
        )
        log.info("Executing 'Functions.%s' (Reason='%s') %s", spec.name, reason, fields)
        kwargs: dict[str, object] = {spec.arg_name: value}
        if spec.wants_context:
            kwargs["context"] = HostContext(invocation_id, spec.name, self._function_directory)
        started = time.perf_counter()
        try:
            if spec.is_async:
                await spec.callable(**kwargs)
            else:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._executor, functools.partial(spec.callable, **kwargs))
        # The host boundary: any failure of user code fails this invocation (the
        # message is retried or poisoned by the caller), it is logged, never lost.
        except Exception as exc:
            duration = (time.perf_counter() - started) * 1000
            log.error(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms) %s duration_ms=%.1f outcome=Failed "
                "exception=%s",
                spec.name, invocation_id, duration, fields, duration, type(exc).__name__,
                exc_info=exc,
            )  # fmt: skip
            return InvocationResult(succeeded=False, duration_ms=duration, error=exc)
        duration = (time.perf_counter() - started) * 1000
        log.info(
            "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms) %s duration_ms=%.1f "
            "outcome=Succeeded",
            spec.name, invocation_id, duration, fields, duration,
        )  # fmt: skip
        return InvocationResult(succeeded=True, duration_ms=duration)
