"""The local Functions host: load the app, start one listener per function, stop gracefully."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from edgeloop.config.base import LOCAL_SETTINGS_ENV
from localdev.functions_host.aio import IoRunner
from localdev.functions_host.converters import QueueTriggerConverter, ServiceBusConverter
from localdev.functions_host.host_config import HostConfig
from localdev.functions_host.invocation import Invoker
from localdev.functions_host.loader import (
    QUEUE_TRIGGER,
    SERVICE_BUS_TRIGGER,
    FunctionAppError,
    FunctionSpec,
    find_function_app,
    import_app_module,
    read_functions,
)
from localdev.functions_host.queue_listener import (
    ListenerPolicy,
    QueueListener,
    batch_fetch,
    concurrency_fetch,
)
from localdev.functions_host.settings import HOST_STORAGE, AppSettings
from localdev.functions_host.timer import STATUS_CONTAINER, Schedule, StatusStore, TimerListener

log = logging.getLogger("localdev.functions_host")

ROLE_ENV = "EDGELOOP_ROLE"
HOST_ID_SETTING = "AzureFunctionsWebHost__hostid"
LEASE_SETTING = "EDGELOOP_HOST_MESSAGE_LEASE_SECONDS"
DEFAULT_LEASE = 600  # the host keeps a running message invisible for 10 minutes, renewed
MAX_DELIVERY_SETTING = "EDGELOOP_SERVICEBUS_MAX_DELIVERY_COUNT"
DEFAULT_MAX_DELIVERY = 10  # Service Bus default maxDeliveryCount
_QUEUE_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")


class Listener(Protocol):
    spec: FunctionSpec

    async def run(self) -> None: ...

    def stop(self) -> None: ...

    async def drain(self, timeout: float) -> int: ...


@dataclass(frozen=True)
class HostOptions:
    app_path: Path
    host_json: Path | None = None
    local_settings: Path | None = None
    role: str | None = None
    shutdown_timeout: float = 30.0


def queue_name(name: str, where: str) -> str:
    if not _QUEUE_NAME.match(name):
        raise FunctionAppError(
            f"{where}: '{name}' is not a valid queue name (3-63 lowercase letters, digits, single hyphens)"
        )
    return name


class FunctionsHost:
    def __init__(
        self, specs: list[FunctionSpec], settings: AppSettings, config: HostConfig, app_dir: Path
    ) -> None:
        self.specs, self.settings, self.config, self.app_dir = specs, settings, config, app_dir

    @classmethod
    def load(cls, options: HostOptions) -> FunctionsHost:
        """Set up the environment the app expects, import it, read its functions."""
        if options.role:
            os.environ[ROLE_ENV] = options.role
        # The host reads local.settings.json from the app directory; the app's own settings
        # classes read the file EDGELOOP_LOCAL_SETTINGS names, so point that at the same file.
        local_settings = options.local_settings or Path(
            os.environ.get(LOCAL_SETTINGS_ENV) or options.app_path.parent / "local.settings.json"
        )
        os.environ[LOCAL_SETTINGS_ENV] = str(local_settings)
        settings = AppSettings.load(local_settings)
        # Like the host, give the worker the local.settings.json values as environment variables.
        os.environ.update(settings.missing_from_environ())
        host_json = options.host_json or options.app_path.parent / "host.json"
        config = HostConfig.load(host_json)
        app = find_function_app(import_app_module(options.app_path))
        return cls(read_functions(app, settings), settings, config, options.app_path.parent.resolve())

    def host_id(self) -> str:
        role = self.settings.get(ROLE_ENV) or "local"
        return (self.settings.get(HOST_ID_SETTING) or f"edgeloop-{role}").lower()[:32]

    def build_listeners(self, invoker: Invoker, io: IoRunner) -> list[Listener]:
        listeners: list[Listener] = []
        for spec in self.specs:
            if spec.trigger_type == QUEUE_TRIGGER:
                listeners.append(self._queue_listener(spec, invoker, io))
            elif spec.trigger_type == SERVICE_BUS_TRIGGER:
                listeners.append(self._service_bus_listener(spec, invoker, io))
            else:
                listeners.append(self._timer_listener(spec, invoker, io))
        return listeners

    def _lease(self) -> int:
        return int(self.settings.get(LEASE_SETTING) or DEFAULT_LEASE)

    def _storage_options(self) -> dict[str, Any]:
        # The triggers' clients send the app's STORAGE_API_VERSION too, as its own clients do.
        version = self.settings.get("STORAGE_API_VERSION")
        return {"api_version": version} if version else {}

    def _queue_listener(self, spec: FunctionSpec, invoker: Invoker, io: IoRunner) -> QueueListener:
        where = f"function '{spec.name}'"
        options = self.config.queues
        name = queue_name(str(spec.trigger.get("queueName", "")), where)
        connection = self.settings.connection_string(spec.trigger.get("connection"), where)
        policy = ListenerPolicy(
            queue_name=name,
            failed_queue_name=f"{name}-poison",
            max_attempts=options.max_dequeue_count,
            retry_delay=round(options.visibility_timeout),
            max_polling_interval=options.max_polling_interval,
            lease=self._lease(),
            fetch_count=batch_fetch(options.batch_size, options.new_batch_threshold),
            reason=f"New queue message detected on '{name}'.",
        )
        return QueueListener(
            spec,
            policy,
            QueueTriggerConverter(options.message_encoding),
            QueueClient.from_connection_string(connection, name, **self._storage_options()),
            QueueClient.from_connection_string(
                connection, policy.failed_queue_name, **self._storage_options()
            ),
            invoker,
            io,
        )

    def _service_bus_listener(self, spec: FunctionSpec, invoker: Invoker, io: IoRunner) -> QueueListener:
        where = f"function '{spec.name}'"
        trigger = spec.trigger
        if trigger.get("topicName"):
            entity = f"{trigger['topicName']}-{trigger.get('subscriptionName', '')}".lower()
        else:
            entity = str(trigger.get("queueName", "")).lower()
        name = queue_name(entity, where)
        connection = self.settings.connection_string(trigger.get("connection"), where)
        policy = ListenerPolicy(
            queue_name=name,
            failed_queue_name=queue_name(f"{name}-deadletter", where),
            max_attempts=int(self.settings.get(MAX_DELIVERY_SETTING) or DEFAULT_MAX_DELIVERY),
            retry_delay=0,  # an abandoned Service Bus message is redelivered at once
            max_polling_interval=self.config.queues.max_polling_interval,
            lease=self._lease(),
            fetch_count=concurrency_fetch(self.config.service_bus.max_concurrent_calls),
            reason=f"New Service Bus message on '{name}' (emulated).",
        )
        return QueueListener(
            spec,
            policy,
            ServiceBusConverter(),
            QueueClient.from_connection_string(connection, name, **self._storage_options()),
            QueueClient.from_connection_string(
                connection, policy.failed_queue_name, **self._storage_options()
            ),
            invoker,
            io,
        )

    def _timer_listener(self, spec: FunctionSpec, invoker: Invoker, io: IoRunner) -> TimerListener:
        where = f"function '{spec.name}'"
        schedule = Schedule(str(spec.trigger.get("schedule", "")), where)
        store = None
        if spec.trigger.get("useMonitor", True):
            connection = self.settings.connection_string(HOST_STORAGE, where + " (timer schedule monitor)")
            container = BlobServiceClient.from_connection_string(
                connection, **self._storage_options()
            ).get_container_client(STATUS_CONTAINER)
            store = StatusStore(container, self.host_id())
        run_on_startup = bool(spec.trigger.get("runOnStartup", False))
        return TimerListener(spec, schedule, store, run_on_startup, invoker, io)

    async def run(self, stop: asyncio.Event, shutdown_timeout: float) -> int:
        """Run until ``stop`` is set; the number of invocations still running at the timeout."""
        default_workers = min(32, (os.cpu_count() or 1) + 4)  # the Python worker's default
        workers = int(self.settings.get("PYTHON_THREADPOOL_THREAD_COUNT") or default_workers)
        user_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="function")
        io_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="host-io")
        io = IoRunner(io_pool)
        listeners = self.build_listeners(Invoker(user_pool, str(self.app_dir)), io)
        tasks = {asyncio.create_task(lsn.run(), name=lsn.spec.name): lsn for lsn in listeners}
        log.info("Host started: %d function(s): %s", len(listeners), ", ".join(s.name for s in self.specs))
        stop_task = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({stop_task, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        failed = [task for task in done if task is not stop_task and task.exception() is not None]
        for task in failed:
            log.error("listener of function '%s' stopped: %r", task.get_name(), task.exception())
        log.info("Host stopping: no new messages are fetched; waiting up to %.0fs", shutdown_timeout)
        for listener in listeners:
            listener.stop()
        # First the poll loops end (a receive under way still starts its messages), then in-flight work.
        deadline = asyncio.get_running_loop().time() + shutdown_timeout
        await asyncio.wait(set(tasks), timeout=shutdown_timeout)
        remaining = max(0.0, deadline - asyncio.get_running_loop().time())
        still_running = sum(await asyncio.gather(*(lsn.drain(remaining) for lsn in listeners)))
        for task in (stop_task, *tasks):
            task.cancel()
        io_pool.shutdown(wait=False, cancel_futures=True)
        user_pool.shutdown(wait=False, cancel_futures=True)
        if still_running:
            log.warning("Host stopped with %d invocation(s) unfinished: not acknowledged", still_running)
        else:
            log.info("Host stopped")
        if failed:
            raise RuntimeError(f"{len(failed)} listener(s) failed") from failed[0].exception()
        return still_running
