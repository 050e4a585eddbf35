"""The scheduled jobs, described with primitives only; bot/app.py turns them into APScheduler jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from handlers.closing import close_resolved_tickets
from handlers.council import send_council_agenda
from handlers.deadlines import sweep_deadlines
from handlers.digest import send_weekly_digest

JobRun = Callable[[async_sessionmaker[AsyncSession], Settings, datetime], Awaitable[object]]


@dataclass(frozen=True)
class JobDef:
    id: str
    """Stable: APScheduler's job id and the name in logs."""
    run: JobRun
    every_seconds: int | None = None
    cron: str | None = None
    lead: timedelta | None = None
    """Fire this long before each ``cron`` time instead of at it."""


def jobs(settings: Settings) -> list[JobDef]:
    """In priority order: the deadline sweep, closing quiet resolved tickets, the weekly digest, the council agenda."""
    schedule = settings.schedule
    defs = [
        JobDef("sweep_deadlines", sweep_deadlines, every_seconds=schedule.sweep_seconds),
        JobDef("close_resolved_tickets", close_resolved_tickets, every_seconds=schedule.sweep_seconds),
    ]
    if schedule.digest.enabled:
        defs.append(JobDef("send_weekly_digest", send_weekly_digest, cron=schedule.digest.cron))
    if schedule.council.enabled:
        defs.append(
            JobDef(
                "send_council_agenda",
                send_council_agenda,
                cron=schedule.council.meeting_cron,
                lead=schedule.council.notice,
            )
        )
    return defs
