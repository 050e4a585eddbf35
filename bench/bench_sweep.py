"""One deadline sweep over open tickets of which some are due: 100,000 with 5% due on SQLite (target: under
2 s); with --postgres, 1,000,000 with 10,000 due on PostgreSQL (issue 12's target: under 5 s). The cost
follows what is due, not what is open: a second sweep at the same time finds nothing and takes milliseconds.

Run: python -m bench.bench_sweep [--tickets 100000] [--due 0.05]
     python -m bench.bench_sweep --postgres [--tickets 1000000] [--due 0.01]
PostgreSQL: LINLI_BENCH_POSTGRES=postgresql+asyncpg://… or a throwaway cluster from the Debian binaries.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text

from bench.common import build_grid, fresh_settings, open_store, postgres_server, postgres_settings
from bot.job_runner import JobRunner
from handlers.deadlines import sweep_deadlines
from storage.models import OutboxItem, Ticket


async def main(total: int, due_share: float, postgres: bool = False) -> None:
    settings = postgres_settings() if postgres else fresh_settings("sweep")
    now = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday
    async with open_store(settings) as store:
        buildings = await build_grid(store, estates=100, buildings_per_estate=10)
        due_every = round(1 / due_share)
        rows = []
        for i in range(total):
            due = i % due_every == 0
            # A due ticket was opened 3 h ago (past its half-way reminder); the others 10 minutes ago.
            opened = now - (timedelta(hours=3) if due else timedelta(minutes=10))
            building = buildings[i % len(buildings)]
            rows.append(
                {
                    "community_id": "c",
                    "unit_id": building,
                    "platform": "sim",
                    "chat_id": f"g-{building}",
                    "kind": "trivial",
                    "urgent": False,
                    "domain": "日常生活",
                    "state": "assigned",
                    "summary": f"第{i}件 楼道灯坏了",
                    "assignee_id": f"p-{building}",
                    "opened_at": opened,
                    "escalation_level": 0,
                    "decision": {},
                    "sla_state": "assigned",
                    "sla_stage": "accept",
                    "sla_cycle": 1,
                    "sla_step": 0,
                    "sla_started_at": opened,
                    "sla_deadline_at": opened + timedelta(hours=4),
                    "sla_due_at": opened + timedelta(hours=2),
                }
            )
        for start in range(0, total, 10_000):
            async with store.sessions.begin() as s:
                await s.execute(insert(Ticket), rows[start : start + 10_000])
        del rows
        if postgres:
            async with store.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
        async with store.sessions() as s:
            due_now = await s.scalar(select(func.count()).where(Ticket.sla_due_at <= now))
        began = time.perf_counter()
        actions = await JobRunner(store.sessions, settings).run(sweep_deadlines, now)
        elapsed = time.perf_counter() - began
        again = time.perf_counter()
        second = await JobRunner(store.sessions, settings).run(sweep_deadlines, now)
        idle = time.perf_counter() - again
        async with store.sessions() as s:
            queued = await s.scalar(select(func.count()).select_from(OutboxItem))
    backend = "postgresql" if postgres else "sqlite"
    limit = 5 if postgres else 2
    print(f"{backend}: tickets {total}, due {due_now}: sweep {elapsed:.2f} s, {len(actions)} reminders, ", end="")
    print(f"{queued} outbox rows")
    print(f"second sweep at the same time: {idle * 1000:.0f} ms, {len(second)} actions")
    print(f"target < {limit} s:", "met" if elapsed < limit else "MISSED")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--tickets", type=int, default=None, help="default 100,000 (SQLite), 1,000,000 (PostgreSQL)")
    parser.add_argument("--due", type=float, default=None, help="default 0.05 (SQLite), 0.01 (PostgreSQL)")
    args = parser.parse_args()
    tickets = args.tickets or (1_000_000 if args.postgres else 100_000)
    due = args.due or (0.01 if args.postgres else 0.05)
    with postgres_server(args.postgres):
        asyncio.run(main(tickets, due, args.postgres))
