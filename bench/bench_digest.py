"""The weekly digest for 1,000 groups: every group's text and the committee's charts (target: under 30 s).

Memory stays bounded: the week's tickets are streamed from the database and folded into per-unit
tallies. The script reports the peak of Python allocations during the digest (tracemalloc) and the
process's peak RSS, for 20,000 tickets in the digest week among 200,000 in all. Then, in the same run,
the figures alone are computed again after the grid has corrected 2% of the week's tickets (a quarter
of them closed as 不是问题), against the same computation before.

Run: python -m bench.bench_digest [--groups 1000] [--week-tickets 20000] [--all-tickets 200000] [--corrected 0.02]
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

from sqlalchemy import insert, select, update

from bench.common import build_grid, fresh_settings, open_store, peak_rss_mb
from bot.app import Store
from config.schedule import DOMAINS
from config.settings import Settings
from handlers.digest import Week, committee_markdown, compute, group_text, write_files
from storage.models import ChatGroup, Ticket, TicketCorrection


async def figures_seconds(store: Store, settings: Settings, week: Week, repeat: int = 3) -> float:
    """The best of ``repeat`` computations of the figures alone."""
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        async with store.sessions() as s:
            await compute(s, settings, "c", week)
        best = min(best, time.perf_counter() - began)
    return best


async def correct_some(store: Store, week: Week, week_tickets: int, share: float) -> int:
    """Corrections for ``share`` of the week's tickets; every fourth closes its ticket as noise."""
    every = max(1, round(1 / share))
    at = week.start.astimezone(UTC) + timedelta(days=3)
    rows, noise = [], []
    for n, ticket_id in enumerate(range(1, week_tickets + 1, every)):
        to_noise = n % 4 == 0
        after = {"kind": "noise" if to_noise else "major", "urgent": False, "domain": "日常生活"}
        rows.append(
            {
                "ticket_id": ticket_id,
                "community_id": "c",
                "at": at + timedelta(minutes=n),
                "actor": "p-c",
                "change": "noise" if to_noise else "major",
                "text": f"第{ticket_id}件",
                "decision": {"kind": "trivial", "urgent": False, "domain": "日常生活"},
                "before": {"kind": "trivial", "urgent": False, "domain": "日常生活"},
                "after": after,
            }
        )
        if to_noise:
            noise.append(ticket_id)
    async with store.sessions.begin() as s:
        await s.execute(insert(TicketCorrection), rows)
        await s.execute(update(Ticket).where(Ticket.id.in_(noise)).values(kind="noise"))
    return len(rows)


async def main(groups: int, week_tickets: int, all_tickets: int, corrected: float) -> None:
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
        before = await figures_seconds(store, settings, week)
        corrections = await correct_some(store, week, week_tickets, corrected)
        after = await figures_seconds(store, settings, week)
        async with store.sessions() as s:
            with_corrections = (await compute(s, settings, "c", week)).figures()
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
    print(
        f"figures alone: {before:.2f} s; after {corrections} corrections "
        f"({with_corrections['corrections']['tickets']} tickets, new {f['new']} -> {with_corrections['new']}): "
        f"{after:.2f} s ({after / before:.2f}x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--week-tickets", type=int, default=20_000)
    parser.add_argument("--all-tickets", type=int, default=200_000)
    parser.add_argument("--corrected", type=float, default=0.02)
    args = parser.parse_args()
    asyncio.run(main(args.groups, args.week_tickets, args.all_tickets, args.corrected))
