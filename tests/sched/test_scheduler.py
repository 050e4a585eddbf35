"""APScheduler only fires: stable ids, coalescing, misfire grace; replay's clock ticks the same jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service, Store
from bot.context import JobContext
from bot.jobs import JobOutcome
from bot.scheduler import EarlyTrigger, cron
from config.settings import Settings
from tests.sched.conftest import Desk, at

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def service(settings: Settings, store: Store) -> AsyncIterator[Service]:
    service = Service(settings, store, [SimulatedAdapter()])
    yield service
    await service.stop()


async def test_the_service_schedules_its_jobs_with_stable_ids(service: Service) -> None:
    with time_machine.travel(at("2026-11-22 12:00"), tick=False):
        await service.start(http=False)
        jobs = {j["id"]: j for j in service.scheduler.describe()}
    assert set(jobs) >= {"sweep_deadlines", "send_weekly_digest", "send_council_agenda"}
    assert jobs["send_weekly_digest"]["next"] == "2026-11-23T09:00:00+08:00"  # Monday 09:00
    assert jobs["send_council_agenda"]["next"] == "2026-11-24T19:30:00+08:00"  # the day before the 25th
    scheduler = service.scheduler._scheduler
    assert scheduler is not None
    for job in scheduler.get_jobs():
        assert job.coalesce is True
        assert job.misfire_grace_time == service.settings.schedule.misfire_grace_seconds
        assert job.func == service.scheduler.run  # the job runner runs it: one transaction per step
        assert job.args == (job.id,)


async def test_replay_ticks_drive_the_sweep(service: Service, desk: Desk) -> None:
    tid = await desk.open(at("2026-11-16 09:00"))
    await service.scheduler.tick(at("2026-11-16 11:00"))
    assert [r.action for r in await desk.reminders(tid)] == ["remind"]


async def test_a_job_that_fails_is_logged_and_runs_again(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(ctx: JobContext) -> JobOutcome:
        raise RuntimeError("database went away")

    service.scheduler.jobs["sweep_deadlines"] = type(service.scheduler.jobs["sweep_deadlines"])(
        "sweep_deadlines", service.scheduler.jobs["sweep_deadlines"].trigger, broken
    )
    await service.scheduler.run("sweep_deadlines", at("2026-11-16 09:00"))
    assert "scheduled job sweep_deadlines failed" in caplog.text
    assert [r.exc_info is not None for r in caplog.records if r.name == "bot.scheduler"] == [True]


async def test_a_job_that_finds_the_database_away_says_so_in_one_line(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    async def away(ctx: JobContext) -> JobOutcome:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    service.scheduler.jobs["sweep_deadlines"] = type(service.scheduler.jobs["sweep_deadlines"])(
        "sweep_deadlines", service.scheduler.jobs["sweep_deadlines"].trigger, away
    )
    assert await service.scheduler.run("sweep_deadlines", at("2026-11-16 09:00")) == []
    [record] = [r for r in caplog.records if r.name == "bot.scheduler"]
    assert (record.levelname, record.exc_info) == ("WARNING", None)
    assert "database unreachable" in record.getMessage()


def test_an_early_trigger_fires_ahead_of_each_meeting() -> None:
    trigger = cron("30 19 25 * *", SHANGHAI, timedelta(days=1))
    assert isinstance(trigger, EarlyTrigger)
    now = datetime(2026, 11, 24, 20, 0, tzinfo=SHANGHAI)  # just after this month's notice time
    first = trigger.get_next_fire_time(None, now)
    assert first == datetime(2026, 12, 24, 19, 30, tzinfo=SHANGHAI)
    assert trigger.get_next_fire_time(first, first) == datetime(2027, 1, 24, 19, 30, tzinfo=SHANGHAI)
