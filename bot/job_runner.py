"""Runs jobs the way the pipeline runs handlers: the runner owns the transaction, the job returns what to say.

One transaction per step: the job gets its ``JobContext``, the messages it returns are written to the
outbox in the same transaction, and the step commits. Then the job's blocking follow-up (drawing charts)
runs in another process (``bot.followups``) while the next step goes on, and what it returns is emitted
in a transaction of its own. A job that says ``more`` is called again at the same instant.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import JobContext
from bot.followups import Followups
from bot.jobs import Job, JobOutcome
from bot.message import OutgoingMessage, Topic
from bot.outbox import Outbox
from config.settings import Settings

log = logging.getLogger(__name__)

MAX_STEPS = 10_000
"""A job that still wants more after this many steps at one instant is stopped (and logged): a bug, not load."""
OVERTAKEN = (Topic.REMIND, Topic.ESCALATE)
"""What a job may withdraw: reminders and escalations the ticket's progress overtook."""


class JobRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.outbox = Outbox.of(settings)
        self.on_commit = on_commit

    async def run(self, job: Job, now: datetime, *, name: str = "") -> list[Any]:
        """Run ``job`` at ``now`` until it has nothing more to do; returns its reports, in order."""
        reports: list[Any] = []

        async def emit(extra: Sequence[OutgoingMessage]) -> None:
            async with self.sessions.begin() as session:
                await self.outbox.emit(session, extra, now=now)
            if self.on_commit is not None:
                self.on_commit()

        followups = Followups(emit, self.settings.schedule.digest.chart_processes)
        try:
            for _ in range(MAX_STEPS):
                outcome = await self._step(job, now)
                reports.extend(outcome.report)
                if outcome.messages and self.on_commit is not None:
                    self.on_commit()
                if outcome.followup is not None:
                    await followups.start(outcome.followup)
                if not outcome.more:
                    break
            else:
                log.error("job %s stopped after %d steps at %s with work left", name or job, MAX_STEPS, now.isoformat())
        except BaseException:
            with contextlib.suppress(Exception):
                await followups.finish()
            raise
        await followups.finish()
        return reports

    async def _step(self, job: Job, now: datetime) -> JobOutcome:
        outbox = self.outbox
        async with self.sessions.begin() as session:

            async def withdraw(tickets: Collection[int]) -> set[int]:
                return await outbox.withdraw(session, tickets, OVERTAKEN, now=now)

            ctx = JobContext(
                session=session,
                settings=self.settings,
                now=now,
                send_at=lambda message: outbox.send_at(message, now),
                withdraw=withdraw,
            )
            outcome = await job(ctx)
            await outbox.emit(session, outcome.messages, now=now)
        return outcome
