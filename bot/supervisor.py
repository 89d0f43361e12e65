"""Background work that must not die silently: restart with backoff, remember what failed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from handlers.health import State, Worker

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def describe(exc: BaseException) -> str:
    """Return a short one-line account of an error."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


class Supervisor:
    """Run a worker until it returns; when it raises, log at once and start it again later."""

    def __init__(
        self,
        name: str,
        work: Callable[[], Awaitable[None]],
        worker: Worker,
        clock: Clock,
        base: float = 1.0,
        cap: float = 60.0,
    ) -> None:
        self.name, self.work, self.worker, self.clock = name, work, worker, clock
        self.base, self.cap = base, cap
        self.failed = asyncio.Event()  # set at each failure; tests wait on it
        self.task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        """Start supervising in a task of the running loop."""
        self.task = asyncio.create_task(self._loop(), name=self.name)
        self.task.add_done_callback(self._ended)
        return self.task

    async def stop(self) -> None:
        """Cancel the supervising task (the worker should have been asked to stop first)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.wait({self.task})
        self.worker.state = State.STOPPED

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            self.worker.state, self.worker.since = State.RUNNING, self.clock()
            started = loop.time()
            try:
                await self.work()
            except Exception as exc:
                if loop.time() - started > self.cap:
                    failures = 0  # it ran well for a while: this failure starts a new series
                failures += 1
                wait = min(self.cap, self.base * 2 ** (failures - 1))
                log.error("%s failed; restarting in %.1f s", self.name, wait, exc_info=exc)
                now = self.clock()
                self.worker.state, self.worker.since = State.RESTARTING, now
                self.worker.last_error, self.worker.failed_at = describe(exc), now
                self.worker.restarts += 1
                self.failed.set()
                await asyncio.sleep(wait)
            else:
                self.worker.state, self.worker.since = State.STOPPED, self.clock()
                return

    def _ended(self, task: asyncio.Task[None]) -> None:
        # The loop only ends by returning or being cancelled; anything else is a defect to show.
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.critical("%s supervisor died", self.name, exc_info=exc)
            self.worker.state, self.worker.last_error = State.STOPPED, describe(exc)
