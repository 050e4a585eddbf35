"""A job's follow-up work (drawing the digest's charts) beside its next steps.

A step commits, then hands its blocking follow-up here and goes on with the next step. Each follow-up runs
in a process of its own (``schedule.digest.chart_processes`` of them, started for one run of a job and
stopped after it), or in a thread when that is 0; at most as many run at once as there are processes, and
what each returns is emitted (its own transaction) as soon as it is done. On one core a district's digest
waited for every community's charts in turn; now the charts of one community are drawn while the next
community's figures are read.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from bot.message import OutgoingMessage

Work = Callable[[], Sequence[OutgoingMessage]]
Emit = Callable[[Sequence[OutgoingMessage]], Awaitable[None]]


class Followups:
    def __init__(self, emit: Emit, processes: int, at_once: int | None = None) -> None:
        """``processes`` 0: each follow-up in a thread; ``at_once``: how many run together (one per process)."""
        self.processes = processes
        self.at_once = at_once if at_once is not None else max(1, processes)
        self.emit = emit
        self._pool: ProcessPoolExecutor | None = None
        self._running: deque[asyncio.Task[None]] = deque()

    async def start(self, work: Work) -> None:
        """Run ``work`` beside what follows, once fewer than ``at_once`` are running (a failure of an earlier
        one is raised here)."""
        while len(self._running) >= self.at_once:
            await self._running.popleft()
        self._running.append(asyncio.create_task(self._run(work)))

    async def finish(self) -> None:
        """Wait for every follow-up still running and stop the processes; raise the first failure."""
        try:
            outcomes = await asyncio.gather(*self._running, return_exceptions=True)
        finally:
            self._running.clear()
            if self._pool is not None:
                pool, self._pool = self._pool, None
                await asyncio.to_thread(pool.shutdown)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _run(self, work: Work) -> None:
        if self.processes == 0:
            made = await asyncio.to_thread(work)
        else:
            if self._pool is None:
                # spawn, not fork: this process has an event loop and driver threads a fork would copy mid-use
                self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))
            made = await asyncio.get_running_loop().run_in_executor(self._pool, work)
        await self.emit(made)
