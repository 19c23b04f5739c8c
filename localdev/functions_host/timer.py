"""Timer-triggered functions: NCRONTAB schedules (UTC), run on startup, schedule monitor.

With ``use_monitor`` the last and next occurrence are kept in the blob
``azure-webjobs-hosts/timers/<host id>/<function>/status`` (JSON ``Last``, ``Next``,
``LastUpdated``, as the host keeps them), written after each run. On start, a
recorded ``Next`` already past means a run was missed: it runs once with
``past_due=True``. A run that completed is recorded, so a restart never repeats it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.functions.timer import TimerRequest
from azure.storage.blob import ContainerClient
from croniter import CroniterError, croniter

from localdev.functions_host.aio import IoRunner, wait_any
from localdev.functions_host.invocation import Invoker
from localdev.functions_host.loader import FunctionAppError, FunctionSpec

log = logging.getLogger(__name__)

STATUS_CONTAINER = "azure-webjobs-hosts"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Schedule:
    """A six-field NCRONTAB expression (seconds first), evaluated in UTC."""

    def __init__(self, expression: str, where: str) -> None:
        if len(expression.split()) != 6:
            raise FunctionAppError(
                f"{where}: schedule '{expression}' must have six fields "
                "(second minute hour day month day-of-week), e.g. '0 */5 * * * *'"
            )
        try:
            croniter(expression, utc_now(), second_at_beginning=True).get_next(datetime)
        except (CroniterError, ValueError) as exc:
            raise FunctionAppError(f"{where}: schedule '{expression}' is not valid NCRONTAB: {exc}") from None
        self.expression = expression

    def next_after(self, moment: datetime) -> datetime:
        following: datetime = croniter(self.expression, moment, second_at_beginning=True).get_next(datetime)
        return following


@dataclass(frozen=True)
class ScheduleStatus:
    last: datetime | None
    next: datetime
    last_updated: datetime

    def to_dict(self) -> dict[str, str | None]:
        return {
            "Last": self.last.isoformat() if self.last else None,
            "Next": self.next.isoformat(),
            "LastUpdated": self.last_updated.isoformat(),
        }

    @classmethod
    def from_dict(cls, document: dict[str, str | None]) -> ScheduleStatus:
        last, following, updated = document.get("Last"), document.get("Next"), document.get("LastUpdated")
        if not following or not updated:
            raise ValueError("schedule status needs 'Next' and 'LastUpdated'")
        return cls(
            last=datetime.fromisoformat(last) if last else None,
            next=datetime.fromisoformat(following),
            last_updated=datetime.fromisoformat(updated),
        )


class StatusStore:
    """Schedule status blobs in the host storage account."""

    def __init__(self, container: ContainerClient, host_id: str) -> None:
        self._container, self._host_id = container, host_id

    def blob_name(self, function_name: str) -> str:
        return f"timers/{self._host_id}/{function_name}/status"

    def read(self, function_name: str) -> ScheduleStatus | None:
        try:
            data = self._container.download_blob(self.blob_name(function_name)).readall()
        except ResourceNotFoundError:
            return None
        try:
            return ScheduleStatus.from_dict(json.loads(data))
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("timer %s: unreadable schedule status, starting afresh: %s", function_name, exc)
            return None

    def write(self, function_name: str, status: ScheduleStatus) -> None:
        data = json.dumps(status.to_dict())
        try:
            self._container.upload_blob(self.blob_name(function_name), data, overwrite=True)
        except ResourceNotFoundError:
            with contextlib.suppress(ResourceExistsError):  # another listener made it meanwhile
                self._container.create_container()
            self._container.upload_blob(self.blob_name(function_name), data, overwrite=True)


def plan_startup(
    status: ScheduleStatus | None, now: datetime, schedule: Schedule
) -> tuple[ScheduleStatus, datetime | None]:
    """The status to start from and, if a recorded occurrence was missed, that occurrence."""
    if status is None:
        return ScheduleStatus(last=None, next=schedule.next_after(now), last_updated=now), None
    if now > status.next:
        return status, status.next
    return status, None


class TimerListener:
    def __init__(
        self,
        spec: FunctionSpec,
        schedule: Schedule,
        store: StatusStore | None,
        run_on_startup: bool,
        invoker: Invoker,
        io: IoRunner,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.spec, self._schedule, self._store = spec, schedule, store
        self._run_on_startup, self._invoker, self._io, self._clock = run_on_startup, invoker, io, clock
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._status: ScheduleStatus | None = None

    def stop(self) -> None:
        self._stopping.set()

    async def drain(self, timeout: float) -> int:
        return 0 if await wait_any([self._idle], timeout) else 1

    async def run(self) -> None:
        now = self._clock()
        past_due: datetime | None = None
        if self._store is not None:
            recorded = await self._io(self._store.read, self.spec.name)
            self._status, past_due = plan_startup(recorded, now, self._schedule)
            if recorded is None:
                await self._io(self._store.write, self.spec.name, self._status)
        if past_due is not None:
            log.info("timer %s: occurrence %s was missed, running it now", self.spec.name, past_due)
            await self._invoke(past_due, past_due=True, reason="Timer fired (past due)")
        elif self._run_on_startup:
            await self._invoke(now, past_due=False, reason="Timer fired on startup")
        while not self._stopping.is_set():
            occurrence = self._schedule.next_after(self._clock())
            # Event-loop timers may wake a little early: wait until the occurrence really came.
            while not self._stopping.is_set() and self._clock() < occurrence:
                await wait_any([self._stopping], (occurrence - self._clock()).total_seconds())
            if self._stopping.is_set():
                return
            await self._invoke(occurrence, past_due=False, reason="Timer fired")

    async def _invoke(self, occurrence: datetime, *, past_due: bool, reason: str) -> None:
        previous = self._status
        status_now = ScheduleStatus(
            last=previous.last if previous else None, next=occurrence, last_updated=self._clock()
        )
        request = TimerRequest(
            past_due=past_due, schedule_status=status_now.to_dict(), schedule={"AdjustForDST": False}
        )
        self._idle.clear()
        try:
            await self._invoker.invoke(self.spec, request, reason=reason)
            finished = self._clock()
            self._status = ScheduleStatus(
                last=occurrence, next=self._schedule.next_after(finished), last_updated=finished
            )
            if self._store is not None:
                await self._io(self._store.write, self.spec.name, self._status)
        except AzureError as exc:
            log.error("timer %s: status not saved, a restart may run it again: %s", self.spec.name, exc)
        finally:
            self._idle.set()
