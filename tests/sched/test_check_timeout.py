"""The check timeout across processes: the database decides, so two runs at one instant alarm the grid once,
and an answer racing the timeout in another process ends the same way whichever commits first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.adapters.simulated import SimulatedAdapter
from bot.app import open_store
from bot.context import Scope
from bot.job_runner import JobRunner
from bot.message import IncomingMessage
from config.settings import Settings
from handlers import lifecycle
from handlers.checks import escalate_unanswered_checks
from nlp.decision import Domain, Kind
from storage.models import OutboxItem, TicketEvent
from tests.core.grid_chat import GridChat
from tests.harness import running

CRYING = "对门家里一直有摔东西和哭的声音，已经半个钟了"


@pytest.fixture
async def grid(settings: Settings) -> AsyncIterator[GridChat]:
    adapter = SimulatedAdapter()
    async with running(settings, [adapter], start=False) as it:
        chat = GridChat(it.service, adapter)
        chat.decide(CRYING, kind=Kind.TRIVIAL, check=True, domain=Domain.SAFETY)
        await chat.post("r-chen", CRYING, name="陈生")
        yield chat


async def count(grid: GridChat, action: str) -> int:
    async with grid.service.store.sessions() as session:
        found = await session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.action == action))
        return int(found or 0)


async def notices(grid: GridChat) -> list[str]:
    async with grid.service.store.sessions() as session:
        rows = await session.scalars(select(OutboxItem.text).where(OutboxItem.kind == "dm").order_by(OutboxItem.id))
        return list(rows)


async def test_two_processes_at_one_instant_alarm_the_grid_once(grid: GridChat, settings: Settings) -> None:
    due = grid.clock + timedelta(minutes=10)
    async with open_store(settings) as other:
        here = JobRunner(grid.service.store.sessions, settings)
        there = JobRunner(other.sessions, settings)
        reports = await asyncio.gather(
            here.run(escalate_unanswered_checks, due), there.run(escalate_unanswered_checks, due)
        )
    assert sorted(len(r) for r in reports) == [0, 1]
    assert await count(grid, "check_unanswered") == 1
    alarms = [t for t in await notices(grid) if t.startswith("【紧急】")]
    assert len(alarms) == 4, alarms  # the leader and the three above, once each
    assert (await grid.ticket(1)).urgent


async def test_an_answer_racing_the_timeout_ends_not_urgent_either_way(grid: GridChat, settings: Settings) -> None:
    due = grid.clock + timedelta(minutes=10)
    answer = IncomingMessage("sim", "sim-sdc-3", "", "lixingshan", "李杏珊", "不紧急 #1", "answer-1", due)
    async with open_store(settings) as other:
        there = JobRunner(other.sessions, settings)
        await asyncio.gather(grid.service.receive(answer, now=due), there.run(escalate_unanswered_checks, due))
    ticket = await grid.ticket(1)
    assert (ticket.urgent, ticket.kind, ticket.check_state) == (False, "trivial", "dismissed")
    alarmed = [t for t in await notices(grid) if t.startswith("【紧急】")]
    stood_down = [t for t in await notices(grid) if "已取消紧急" in t]
    # If the clock won, whoever was alarmed was told to stand down; if the answer won, nobody was alarmed.
    assert len(stood_down) == (3 if alarmed else 0)
    assert await count(grid, "check_dismiss") == 1


async def test_an_answer_that_read_the_ticket_before_the_timeout_committed(grid: GridChat, settings: Settings) -> None:
    """The losing order, made deterministic: the answer's transaction read the ticket, then the clock ran out
    in another process and committed, then the answer settles. It must see (and undo) what the clock did."""
    due = grid.clock + timedelta(minutes=10)
    async with grid.service.store.sessions.begin() as session:
        scope = Scope(session=session, settings=settings, now=due)
        ticket = await scope.tickets.get(1)
        leader = await scope.org.person("p-li")
        assert ticket is not None
        assert leader is not None
        assert (ticket.urgent, ticket.check_state) == (False, "pending")
        async with open_store(settings) as other:
            assert await JobRunner(other.sessions, settings).run(escalate_unanswered_checks, due) == [1]
        outcome = await lifecycle.answer_check(scope, ticket, urgent=False, by=leader, at=due)
        assert outcome is not None
        assert len(outcome.notices) == 3, "the three alarmed above the leader stand down"
    ticket = await grid.ticket(1)
    assert (ticket.urgent, ticket.kind, ticket.check_state) == (False, "trivial", "dismissed")
