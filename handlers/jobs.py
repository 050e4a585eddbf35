"""The scheduled jobs in priority order, with when each runs; bot/app.py puts them on APScheduler triggers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.jobs import Job
from config.settings import Settings
from handlers.checks import escalate_unanswered_checks
from handlers.closing import close_resolved_tickets
from handlers.council import send_council_agenda
from handlers.deadlines import sweep_deadlines
from handlers.digest import send_weekly_digest
from handlers.needs import ask_for_needs
from handlers.retention import purge_old_messages
from handlers.votes import close_due_votes


@dataclass(frozen=True)
class JobDef:
    id: str
    """Stable: APScheduler's job id and the name in logs."""
    run: Job
    every_seconds: int | None = None
    cron: str | None = None
    lead: timedelta | None = None
    """Fire this long before each ``cron`` time instead of at it."""


def jobs(settings: Settings) -> list[JobDef]:
    """In priority order: unanswered checks, the deadline sweep, closing quiet resolved tickets, counting votes
    past their deadline, the weekly digest, the council agenda, the monthly needs round, the retention of raw
    messages."""
    schedule = settings.schedule
    defs = [
        JobDef("escalate_unanswered_checks", escalate_unanswered_checks, every_seconds=schedule.check.sweep_seconds),
        JobDef("sweep_deadlines", sweep_deadlines, every_seconds=schedule.sweep_seconds),
        JobDef("close_resolved_tickets", close_resolved_tickets, every_seconds=schedule.sweep_seconds),
        JobDef("close_due_votes", close_due_votes, every_seconds=schedule.sweep_seconds),
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
    if settings.council.needs.enabled:
        defs.append(JobDef("ask_for_needs", ask_for_needs, cron=settings.council.needs.cron))
    defs.append(JobDef("purge_old_messages", purge_old_messages, cron=settings.retention.cron))
    return defs
