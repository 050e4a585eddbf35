"""The weekly digest job for a whole district: 200 communities and 5,000 groups (issue 12's target: under 60 s
on PostgreSQL), end to end as the scheduler runs it: one community a step, each with its figures, every
group's summary and the committee's text written to the outbox, and its charts drawn after the commit.

The district has 100 tickets a community in the digest week among 1,000 a community in all.

Run: python -m bench.bench_weekly [--communities 200] [--week-tickets 100] [--all-tickets 1000] [--sqlite]
PostgreSQL: LINLI_BENCH_POSTGRES=postgresql+asyncpg://… or a throwaway cluster from the Debian binaries.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text

from bench.common import fresh_settings, open_store, peak_rss_mb, postgres_server, postgres_settings
from bench.workload import District
from bot.app import import_org
from bot.job_runner import JobRunner
from config.schedule import DOMAINS
from handlers.digest import Week, send_weekly_digest
from storage.models import JobRun, OutboxItem, Ticket

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def tickets(district: District, week: Week, per_week: int, per_all: int) -> list[dict[str, Any]]:
    rows = []
    start = week.start.astimezone(UTC)
    for group_index, group in enumerate(district.groups()):
        for n in range(per_all // (district.estates * district.buildings)):
            in_week = n < per_week // (district.estates * district.buildings)
            opened = (
                start + timedelta(minutes=(n * 97 + group_index) % (7 * 1440))
                if in_week
                else start - timedelta(days=8 + n % 300)
            )
            accepted = opened + timedelta(minutes=30 + n % 400) if n % 5 else None
            resolved = accepted + timedelta(hours=5 + n % 60) if accepted and n % 3 else None
            rows.append(
                {
                    "community_id": group.community,
                    "unit_id": group.building,
                    "platform": "sim",
                    "chat_id": group.chat_id,
                    "kind": "major" if n % 10 == 0 else "trivial",
                    "urgent": False,
                    "domain": DOMAINS[n % 8],
                    "state": "resolved" if resolved else "accepted" if accepted else "assigned",
                    "summary": f"第{n}件",
                    "assignee_id": f"p-{group.building}",
                    "opened_at": opened,
                    "accepted_at": accepted,
                    "resolved_at": resolved,
                    "escalation_level": 0,
                    "decision": {},
                }
            )
    return rows


async def main(communities: int, per_week: int, per_all: int, postgres: bool) -> None:
    settings = postgres_settings() if postgres else fresh_settings("weekly")
    settings.schedule.digest.out_dir = Path(tempfile.mkdtemp(prefix="linli-weekly-"))
    district = District(communities, 5, 5)
    week = Week.before(MONDAY, ZoneInfo(settings.timezone))
    async with open_store(settings) as store:
        began = time.perf_counter()
        await import_org(store, district.write_org(Path(tempfile.mkdtemp()) / "org.yaml"))
        rows = tickets(district, week, per_week, per_all)
        for first in range(0, len(rows), 10_000):
            async with store.sessions.begin() as session:
                await session.execute(insert(Ticket), rows[first : first + 10_000])
        if postgres:
            async with store.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
        setup = time.perf_counter() - began
        began = time.perf_counter()
        await JobRunner(store.sessions, settings).run(send_weekly_digest, MONDAY, name="send_weekly_digest")
        elapsed = time.perf_counter() - began
        async with store.sessions() as session:
            queued = await session.scalar(select(func.count()).select_from(OutboxItem))
            done = await session.scalar(select(func.count()).select_from(JobRun).where(JobRun.job == "digest"))
    charts = len(list(settings.schedule.digest.out_dir.rglob("*.png")))
    backend = "postgresql" if postgres else "sqlite"
    print(
        f"{backend}: {communities} communities, {len(district.groups())} groups, {len(rows)} tickets "
        f"({per_week * communities} in {week.label}); set-up {setup:.0f} s"
    )
    print(f"weekly digest job: {elapsed:.1f} s, {done} digests, {queued} outbox rows, {charts} charts drawn")
    print(f"process peak RSS {peak_rss_mb():.0f} MiB; target < 60 s:", "met" if elapsed < 60 else "MISSED")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--week-tickets", type=int, default=100, help="per community")
    parser.add_argument("--all-tickets", type=int, default=1_000, help="per community")
    parser.add_argument("--sqlite", action="store_true", help="on SQLite instead of PostgreSQL")
    args = parser.parse_args()
    with postgres_server(not args.sqlite):
        asyncio.run(main(args.communities, args.week_tickets, args.all_tickets, not args.sqlite))
