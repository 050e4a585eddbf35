"""The weekly digest for 1,000 groups: every group's text and the committee's charts (target: under 30 s).

Memory stays bounded: the week's tickets are streamed from the database and folded into per-unit
tallies. The script reports the peak of Python allocations during the digest (tracemalloc) and the
process's peak RSS, for 20,000 tickets in the digest week among 200,000 in all.

Run: python -m bench.bench_digest [--groups 1000] [--week-tickets 20000] [--all-tickets 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import tracemalloc
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bench.common import build_grid, fresh_settings, open_store, peak_rss_mb
from config.schedule import DOMAINS
from handlers.digest import Week, committee_markdown, compute, group_text, write_files
from storage.models import ChatGroup, Ticket


async def main(groups: int, week_tickets: int, all_tickets: int) -> None:
    settings = fresh_settings("digest")
    tz = ZoneInfo(settings.timezone)
    week = Week.of(2026, 47, tz)
    async with open_store(settings) as store:
        buildings = await build_grid(store, estates=max(1, groups // 10), buildings_per_estate=10)
        start = week.start.astimezone(UTC)
        rows = []
        for i in range(all_tickets):
            in_week = i < week_tickets
            opened = (
                start + timedelta(minutes=(i * 7) % (7 * 24 * 60)) if in_week else start - timedelta(days=8 + i % 300)
            )
            accepted = opened + timedelta(minutes=30 + i % 400) if i % 5 else None
            resolved = accepted + timedelta(hours=5 + i % 60) if accepted and i % 3 else None
            building = buildings[i % len(buildings)]
            rows.append(
                {
                    "community_id": "c",
                    "unit_id": building,
                    "platform": "sim",
                    "chat_id": f"g-{building}",
                    "kind": "major" if i % 10 == 0 else "trivial",
                    "urgent": False,
                    "domain": DOMAINS[i % 8],
                    "state": "resolved" if resolved else "accepted" if accepted else "assigned",
                    "summary": f"第{i}件 电话1380000{i % 10000:04d}",
                    "assignee_id": f"p-{building}",
                    "opened_at": opened,
                    "accepted_at": accepted,
                    "resolved_at": resolved,
                    "escalation_level": 0,
                    "decision": {},
                }
            )
        async with store.sessions.begin() as s:
            for first in range(0, all_tickets, 10_000):
                await s.execute(insert(Ticket), rows[first : first + 10_000])
        del rows
        out = Path(tempfile.mkdtemp(prefix="linli-digest-"))
        tracemalloc.start()
        began = time.perf_counter()
        async with store.sessions() as s:
            digest = await compute(s, settings, "c", week)
            bound = (await s.scalars(select(ChatGroup).where(ChatGroup.unit_id.is_not(None)))).all()
        texts = [group_text(digest, g.unit_id or "", g.name) for g in bound]
        full = committee_markdown(digest)
        files = write_files(digest, out)
        elapsed = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    f = digest.figures()
    print(f"groups {len(bound)}, tickets {all_tickets} ({f['new']} in {week.label}): digest {elapsed:.2f} s")
    print(
        f"  {len(texts)} group texts (longest {max(len(t.encode()) for t in texts)} bytes), committee text "
        f"{len(full.encode())} bytes, files {[p.name for p in files]}"
    )
    print(
        f"  peak traced Python memory during the digest {peak / 2**20:.1f} MiB; "
        f"process peak RSS {peak_rss_mb():.0f} MiB (includes building the data set)"
    )
    print("target < 30 s:", "met" if elapsed < 30 else "MISSED")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--week-tickets", type=int, default=20_000)
    parser.add_argument("--all-tickets", type=int, default=200_000)
    args = parser.parse_args()
    asyncio.run(main(args.groups, args.week_tickets, args.all_tickets))
