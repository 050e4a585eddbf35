"""The check timeout job over a realistic backlog: 100,000 open tickets, 1% with a check of which a quarter
are past their answer time. Measured: the run that escalates them, the idle run that follows (the job
runs every 30 s), and, as the baseline in the same run on the same database, a job that only takes its
transaction and lock.

Run: python -m bench.bench_checks [--tickets 100000] [--checks 0.01] [--due 0.25]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from bench.common import build_grid, fresh_settings, open_store, peak_rss_mb
from bot.context import JobContext
from bot.job_runner import JobRunner
from bot.jobs import JobOutcome
from handlers.checks import escalate_unanswered_checks
from storage.check_repo import CheckRepo
from storage.models import OutboxItem, Ticket, TicketReporter


async def lock_only(ctx: JobContext) -> JobOutcome:
    """The baseline: what every run costs before it looks at a single ticket."""
    await CheckRepo(ctx.session).lock(ctx.now)
    return JobOutcome()


async def timed(runner: JobRunner, job: object, now: datetime, repeat: int = 1) -> tuple[float, int]:
    began = time.perf_counter()
    done = 0
    for _ in range(repeat):
        done += len(await runner.run(job, now))  # type: ignore[arg-type]
    return (time.perf_counter() - began) / repeat, done


async def main(total: int, check_share: float, due_share: float) -> None:
    settings = fresh_settings("checks")
    now = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)
    async with open_store(settings) as store:
        buildings = await build_grid(store, estates=100, buildings_per_estate=10)
        check_every = round(1 / check_share)
        due_every = round(1 / due_share)
        rows, reporters = [], []
        checks = 0
        for i in range(total):
            building = buildings[i % len(buildings)]
            check = i % check_every == 0
            due = check and (i // check_every) % due_every == 0
            checks += check
            opened = now - timedelta(minutes=15 if due else 5) if check else now - timedelta(days=i % 30)
            rows.append(
                {
                    "id": i + 1,
                    "community_id": "c",
                    "unit_id": building,
                    "platform": "sim",
                    "chat_id": f"g-{building}",
                    "kind": "trivial",
                    "urgent": False,
                    "domain": "其他",
                    "state": "assigned",
                    "summary": f"第{i}件 对门一直有哭声",
                    "assignee_id": f"p-{building}",
                    "opened_at": opened,
                    "escalation_level": 0,
                    "decision": {"kind": "trivial", "check": check, "rules": []},
                    "sla_due_at": opened + timedelta(hours=2),
                    "check_state": "pending" if check else None,
                    "check_due_at": opened + timedelta(minutes=10) if check else None,
                }
            )
            reporters.append(
                {
                    "ticket_id": i + 1,
                    "platform": "sim",
                    "sender_id": f"r-{i}",
                    "sender_name": "街坊",
                    "reported_at": opened,
                }
            )
        async with store.sessions.begin() as s:
            for start in range(0, total, 10_000):
                await s.execute(insert(Ticket), rows[start : start + 10_000])
                await s.execute(insert(TicketReporter), reporters[start : start + 10_000])
        async with store.sessions() as s:
            due_now = await s.scalar(select(func.count()).where(Ticket.check_due_at <= now))
        runner = JobRunner(store.sessions, settings)
        baseline, _ = await timed(runner, lock_only, now, repeat=20)
        escalating, escalated = await timed(runner, escalate_unanswered_checks, now)
        idle, again = await timed(runner, escalate_unanswered_checks, now, repeat=20)
        async with store.sessions() as s:
            queued = await s.scalar(select(func.count()).select_from(OutboxItem))
    print(f"tickets {total}, checks {checks}, unanswered at now {due_now}")
    print(f"baseline (transaction + lock only): {baseline * 1000:.1f} ms per run")
    print(f"escalating run: {escalating:.2f} s, {escalated} checks made urgent, {queued} outbox rows")
    print(f"idle run (nothing due): {idle * 1000:.1f} ms per run, {again} escalated; {idle / baseline:.1f}x baseline")
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--checks", type=float, default=0.01)
    parser.add_argument("--due", type=float, default=0.25)
    args = parser.parse_args()
    asyncio.run(main(args.tickets, args.checks, args.due))
