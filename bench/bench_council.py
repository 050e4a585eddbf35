"""The residents' council on a large backlog (SQLite), each figure beside a baseline measured in the same run.

The data set: one community of 200 buildings (20 estates of 10) with 60 listed households each (12,000),
100,000 tickets of which 20,000 are resolved and past the auto-close time, 500 of those before the
council; a community-wide household vote with 18,000 ballots (6,000 households changed their vote);
4,000 needs collected this month.

- ballots: 300 ballots typed into building groups through the real pipeline (classifier, routers, the
  vote's checks, the outbox), per message, beside 300 chat messages in the same groups (the baseline);
- tally: the recount of the 18,000 ballots, and the deadline job that counts and announces;
- auto-close: the due-ticket query with and without the council's filter; batches of the job without and
  with the lifecycle's per-ticket council check;
- digest: the month's needs counted in the database for the committee's digest.

Run: python -m bench.bench_council [--households 60] [--tickets 100000] [--ballots 300] [--batches 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from bench.common import build_grid, fresh_settings, open_store, peak_rss_mb
from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service
from bot.context import JobContext
from bot.job_runner import JobRunner
from bot.jobs import JobOutcome
from bot.message import IncomingMessage
from config.council import Eligible, ShareOf, VoteRule
from handlers import lifecycle
from handlers.closing import close_resolved_tickets
from handlers.council_digest import voice_summary
from handlers.tally import recount, rule_snapshot
from handlers.votes import close_due_votes
from storage.council_models import Ballot, CouncilItem, Household, Need, NeedsRound, Vote
from storage.council_repo import CouncilRepo, held_by_council
from storage.models import Ticket, TicketState

NOW = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)  # a Wednesday


def message(building: str, sender: str, text: str, number: int, at: datetime) -> IncomingMessage:
    return IncomingMessage("sim", f"g-{building}", f"g-{building}", sender, sender, text, f"bench-{number}", at)


async def timed_feed(service: Service, messages: list[IncomingMessage]) -> list[float]:
    took = []
    for msg in messages:
        began = time.perf_counter()
        await service.receive(msg, now=msg.time)
        took.append((time.perf_counter() - began) * 1000)
    return took


def describe(name: str, took: list[float]) -> str:
    took = sorted(took)
    return f"{name}: median {statistics.median(took):.1f} ms, p95 {took[int(len(took) * 0.95)]:.1f} ms"


async def main(per_building: int, total: int, ballots: int, batches: int) -> None:
    settings = fresh_settings("council")
    async with open_store(settings) as store:
        buildings = await build_grid(store, estates=20, buildings_per_estate=10)
        households = [
            {"id": f"{b}:{floor}{flat:02d}", "unit_id": b, "room": f"{floor}{flat:02d}", "owner": True, "active": True}
            for b in buildings
            for floor in range(1, per_building // 2 + 1)
            for flat in (1, 2)
        ]
        resolved_at = NOW - timedelta(days=5)
        tickets = []
        for i in range(total):
            building = buildings[i % len(buildings)]
            due = i < total // 5
            tickets.append(
                {
                    "community_id": "c",
                    "unit_id": building,
                    "platform": "sim",
                    "chat_id": f"g-{building}",
                    "kind": "major" if i % 10 == 0 else "trivial",
                    "urgent": False,
                    "domain": "日常生活",
                    "state": TicketState.RESOLVED if due else TicketState.ACCEPTED,
                    "summary": f"第{i}件 楼道灯坏了",
                    "assignee_id": f"p-{building}",
                    "opened_at": NOW - timedelta(days=6, minutes=i % 1440),
                    "accepted_at": NOW - timedelta(days=6),
                    "resolved_at": resolved_at if due else None,
                    "escalation_level": 0,
                    "decision": {},
                }
            )
        async with store.sessions.begin() as s:
            await s.execute(insert(Household), households)
            for first in range(0, total, 10_000):
                await s.execute(insert(Ticket), tickets[first : first + 10_000])
            await s.execute(
                insert(CouncilItem),
                [
                    {
                        "ticket_id": t,
                        "community_id": "c",
                        "unit_id": buildings[0],
                        "title": "议题",
                        "added_at": NOW,
                        "added_by": "p-c",
                    }
                    for t in range(1, total // 5, total // 5 // 500)
                ][:500],
            )
            council_ticket = total  # the last ticket carries the vote
            item = await s.scalar(
                insert(CouncilItem)
                .values(
                    ticket_id=council_ticket,
                    community_id="c",
                    unit_id="c",
                    title="全社区充电桩",
                    added_at=NOW,
                    added_by="p-c",
                )
                .returning(CouncilItem.id)
            )
            rule = rule_snapshot(
                VoteRule(eligible=Eligible.ALL, turnout="1/2", approve=">1/2", approve_of=ShareOf.VOTED)
            )
            vote = await s.scalar(
                insert(Vote)
                .values(
                    item_id=item,
                    ticket_id=council_ticket,
                    unit_id="c",
                    title="全社区充电桩",
                    opened_at=NOW - timedelta(days=3),
                    opened_by="p-c",
                    deadline=NOW + timedelta(days=1),
                    rule=rule,
                    listed=True,
                    eligible=len(households),
                )
                .returning(Vote.id)
            )
            cast = [
                {
                    "vote_id": vote,
                    "household_id": h["id"],
                    "choice": ("agree", "oppose", "abstain")[n % 3],
                    "platform": "sim",
                    "sender_id": f"r-{n}",
                    "sender_name": "",
                    "at": NOW - timedelta(hours=1),
                    "message_id": f"b-{n}",
                }
                for n, h in enumerate(households + households[: len(households) // 2])
            ]
            for first in range(0, len(cast), 10_000):
                await s.execute(insert(Ballot), cast[first : first + 10_000])
            round_id = await s.scalar(
                insert(NeedsRound)
                .values(
                    community_id="c",
                    month="2026-12",
                    opened_at=NOW - timedelta(days=8),
                    closes_at=NOW - timedelta(days=5),
                )
                .returning(NeedsRound.id)
            )
            await s.execute(
                insert(Need),
                [
                    {
                        "round_id": round_id,
                        "community_id": "c",
                        "unit_id": buildings[n % len(buildings)],
                        "platform": "sim",
                        "chat_id": "g",
                        "sender_id": f"r-{n}",
                        "sender_name": "",
                        "text": f"希望装宽带{n}" if n % 4 else "希望多办活动",
                        "domain": "日常生活",
                        "at": NOW - timedelta(days=7),
                        "message_id": f"n-{n}",
                    }
                    for n in range(4_000)
                ],
            )
        print(
            f"backlog: {len(households)} households, {total} tickets ({total // 5} due to auto-close, 500 council "
            f"items among them), {len(cast)} ballots, 4000 needs"
        )

        # ballots through the pipeline, beside chat in the same groups
        adapter = SimulatedAdapter()
        service = Service(settings, store, [adapter])
        await adapter.start(service.receive)
        at = NOW - timedelta(minutes=30)
        chat = [
            message(buildings[n % 200], f"c-{n}", "收到，谢谢", n, at + timedelta(seconds=n)) for n in range(ballots)
        ]
        votes = [
            message(
                buildings[n % 200],
                f"v-{n}",
                f"同意 {n % 30 + 1}01"[:7],
                10_000 + n,
                at + timedelta(seconds=ballots + n),
            )
            for n in range(ballots)
        ]
        await timed_feed(service, [message(buildings[0], "warm", "收到", 99_999, at - timedelta(seconds=1))])
        chat_ms = await timed_feed(service, chat)
        vote_ms = await timed_feed(service, votes)
        print(describe(f"{ballots} chat messages (baseline)", chat_ms))
        print(describe(f"{ballots} ballots", vote_ms))

        async with store.sessions() as s:
            stored = await s.get(Vote, vote)
            assert stored is not None
            began = time.perf_counter()
            counted = await recount(s, stored)
            recount_ms = (time.perf_counter() - began) * 1000
        print(f"recount of {len(cast) + ballots} ballots ({counted.voted} households): {recount_ms:.0f} ms")
        began = time.perf_counter()
        await JobRunner(store.sessions, settings).run(close_due_votes, NOW + timedelta(days=1, minutes=1))
        print(
            f"deadline job (count, announce in {len(buildings)} groups): {(time.perf_counter() - began) * 1000:.0f} ms"
        )

        cutoff = NOW - timedelta(hours=settings.tickets.auto_close_hours)
        due = select(Ticket.id).where(Ticket.state == TicketState.RESOLVED, Ticket.resolved_at <= cutoff).limit(500)
        async with store.sessions() as s:
            for name, query in (
                ("without the council filter (baseline)", due),
                ("with it", due.where(~held_by_council())),
            ):
                began = time.perf_counter()
                for _ in range(20):
                    (await s.scalars(query)).all()
                print(f"auto-close batch query {name}: {(time.perf_counter() - began) * 1000 / 20:.1f} ms")

        # The job a batch (500) at a time: first without the lifecycle's council check (the baseline: what
        # closing cost before it), then with it (one query a batch), on the same data.
        async def one_batch(ctx: JobContext) -> JobOutcome:
            outcome = await close_resolved_tickets(ctx)
            return JobOutcome(messages=outcome.messages)

        class NothingHeld(CouncilRepo):
            async def holding(self, ticket_ids: Sequence[int]) -> set[int]:
                return set()

        runner = JobRunner(store.sessions, settings)
        timings: dict[str, list[float]] = {"without the council check (baseline)": [], "with it": []}
        for _ in range(batches):  # alternating, so that neither way gets the emptier table
            for name, repo in zip(timings, (NothingHeld, CouncilRepo), strict=True):
                lifecycle.CouncilRepo = repo  # type: ignore[misc]
                began = time.perf_counter()
                await runner.run(one_batch, NOW)
                timings[name].append(time.perf_counter() - began)
        lifecycle.CouncilRepo = CouncilRepo  # type: ignore[misc]
        for name, took in timings.items():
            print(f"auto-close, {batches} batches of 500 {name}: {statistics.mean(took):.2f} s a batch")
        await runner.run(close_resolved_tickets, NOW)
        async with store.sessions() as s:
            left = await s.scalar(select(func.count()).where(Ticket.state == TicketState.RESOLVED))
        print(f"auto-close leaves {left} resolved tickets: the council items")

        async with store.sessions() as s:
            began = time.perf_counter()
            summary = await voice_summary(s, "c", NOW - timedelta(days=9), NOW, ZoneInfo(settings.timezone))
            took = (time.perf_counter() - began) * 1000
            print(f"digest: the month's needs counted ({summary.total_needs}): {took:.0f} ms")
        print(f"process peak RSS {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=60, help="listed households per building")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--ballots", type=int, default=300)
    parser.add_argument("--batches", type=int, default=4, help="auto-close batches timed each way")
    args = parser.parse_args()
    asyncio.run(main(args.households, args.tickets, args.ballots, args.batches))
