"""APScheduler fires the jobs; the database decides what each one does; the job runner runs them.

The job store is APScheduler's memory store (nothing is pickled; a restart loses nothing because the
state lives in the database). Jobs coalesce (after downtime a job runs once, not once per missed run)
and have a misfire grace time. ``tick`` drives the same jobs from a recorded clock (``linli replay``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.health import log_failure
from bot.job_runner import JobRunner
from bot.jobs import Job
from config.schedule import cron_trigger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: a stable id (APScheduler's and the logs'), a trigger, and the job."""

    id: str
    trigger: BaseTrigger
    job: Job


class EarlyTrigger(BaseTrigger):  # type: ignore[misc]
    """Fires ``lead`` before each fire time of another trigger (the agenda a day before each council)."""

    def __init__(self, trigger: BaseTrigger, lead: timedelta) -> None:
        self.trigger = trigger
        self.lead = lead

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        previous = previous_fire_time + self.lead if previous_fire_time is not None else None
        upcoming: datetime | None = self.trigger.get_next_fire_time(previous, now + self.lead)
        return upcoming - self.lead if upcoming is not None else None

    def __str__(self) -> str:
        return f"{self.lead} before {self.trigger}"


def interval(seconds: float, tz: tzinfo) -> BaseTrigger:
    return IntervalTrigger(seconds=seconds, timezone=tz)


def cron(expr: str, tz: tzinfo, lead: timedelta | None = None) -> BaseTrigger:
    trigger = cron_trigger(expr, tz)
    return EarlyTrigger(trigger, lead) if lead else trigger


class JobScheduler:
    """The jobs of one service on an AsyncIOScheduler; ``tick`` drives them from a recorded clock instead."""

    def __init__(
        self, runner: JobRunner, jobs: Sequence[JobSpec], *, timezone: tzinfo, misfire_grace_seconds: int
    ) -> None:
        self.runner = runner
        self.jobs = {job.id: job for job in jobs}
        self.timezone = timezone
        self.misfire_grace_seconds = misfire_grace_seconds
        self._scheduler: AsyncIOScheduler | None = None
        self._next_run: dict[str, datetime | None] = {}
        """When each job runs next on the recorded clock (``tick``)."""

    def start(self) -> None:
        scheduler = AsyncIOScheduler(
            timezone=self.timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self.misfire_grace_seconds},
        )
        for job in self.jobs.values():
            scheduler.add_job(self.run, trigger=job.trigger, args=[job.id], id=job.id, name=job.id)
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started: %s", ", ".join(f"{j.id} ({j.trigger})" for j in self.jobs.values()))

    def describe(self) -> list[dict[str, Any]]:
        if self._scheduler is None:
            return [{"id": j.id, "trigger": str(j.trigger)} for j in self.jobs.values()]
        return [
            {"id": j.id, "trigger": str(j.trigger), "next": j.next_run_time.isoformat() if j.next_run_time else None}
            for j in self._scheduler.get_jobs()
        ]

    async def run(self, job_id: str, now: datetime | None = None) -> list[Any]:
        """Run one job now (or as if at ``now``); its reports, or none if it failed (it runs again next time)."""
        try:
            return await self.runner.run(self.jobs[job_id].job, now or datetime.now(UTC), name=job_id)
        except Exception as exc:
            log_failure(log, exc, f"scheduled job {job_id}", "it runs again at its next time")
            return []

    def due(self, now: datetime) -> bool:
        """Whether ``tick(now)`` would run anything: the recorded clock has reached a job's next time."""
        if not self._next_run:
            return True
        return any(upcoming is not None and now >= upcoming for upcoming in self._next_run.values())

    async def tick(self, now: datetime) -> None:
        """Replay's clock hook: run what would have fired between the previous tick and ``now``, once each.

        Every job runs as it would in ``linli run``, when the recorded clock reaches its next time: an
        interval job (the sweeps) at the first tick and then once per interval, a cron job (the digest, the
        agenda) at its times after the first tick. Between those times a tick does nothing."""
        first = not self._next_run
        for job in self.jobs.values():
            if first:
                upcoming: datetime | None = now if isinstance(job.trigger, IntervalTrigger) else self._after(job, now)
                self._next_run[job.id] = upcoming
            upcoming = self._next_run[job.id]
            if upcoming is None or now < upcoming:
                continue
            if isinstance(job.trigger, IntervalTrigger):
                self._next_run[job.id] = now + job.trigger.interval
            else:
                self._next_run[job.id] = self._after(job, now)
            await self.run(job.id, now)

    @staticmethod
    def _after(job: JobSpec, now: datetime) -> datetime | None:
        """The job's first fire time strictly after ``now``."""
        fire: datetime | None = job.trigger.get_next_fire_time(None, now + timedelta(microseconds=1))
        return fire

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
