"""Fixtures for the scheduled side: tickets opened at chosen times, jobs run at chosen instants.

The store comes from tests/conftest.py, so every test here runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import Store
from bot.job_runner import JobRunner
from bot.jobs import Job
from config.settings import CONFIG_DIR, Settings
from handlers.deadlines import SweepAction, sweep_deadlines
from storage.models import OutboxItem, Ticket, TicketEvent, TicketReminder
from storage.ticket_repo import TicketRepo

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXAMPLE_ORG = CONFIG_DIR / "example-org.yaml"


def at(text: str) -> datetime:
    """'2026-11-16 09:00' in Shanghai."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def db_url(database_url: str) -> str:
    """The database under test (SQLite, then a real PostgreSQL: see tests/conftest.py), for the CLI."""
    return database_url


class Desk:
    """Opens tickets, sweeps, and reads back what was recorded and queued."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def open(
        self,
        when: datetime,
        *,
        unit: str = "sdc-3",
        chat: str = "sim-sdc-3",
        kind: str = "trivial",
        urgent: bool = False,
        domain: str = "日常生活",
        assignee: str | None = "p-li",
        summary: str = "6楼走廊灯坏了",
    ) -> int:
        async with self.store.sessions.begin() as s:
            ticket = await TicketRepo(s).open(
                community_id="beijiang",
                unit_id=unit,
                platform="sim",
                chat_id=chat,
                kind=kind,
                urgent=urgent,
                domain=domain,
                summary=summary,
                decision={},
                assignee_id=assignee,
                opened_at=when,
                actor="sim:resident",
            )
            return ticket.id

    async def run(self, job: Job, when: datetime) -> list[Any]:
        """Run a job at ``when`` as the service's scheduler would; its reports."""
        return await JobRunner(self.store.sessions, self.settings).run(job, when)

    async def sweep(self, when: datetime) -> list[SweepAction]:
        return await self.run(sweep_deadlines, when)

    async def ticket(self, ticket_id: int) -> Ticket:
        async with self.store.sessions() as s:
            ticket = await s.get(Ticket, ticket_id)
            assert ticket is not None
            return ticket

    async def transition(self, ticket_id: int, state: str, when: datetime, **fields: Any) -> None:
        async with self.store.sessions.begin() as s:
            repo = TicketRepo(s)
            ticket = await repo.get(ticket_id)
            assert ticket is not None
            for key, value in fields.items():
                setattr(ticket, key, value)
            await repo.transition(ticket, state, actor="sim:leader", action=state, at=when)  # type: ignore[arg-type]

    async def reminders(self, ticket_id: int) -> list[TicketReminder]:
        async with self.store.sessions() as s:
            rows = await s.scalars(
                select(TicketReminder).where(TicketReminder.ticket_id == ticket_id).order_by(TicketReminder.id)
            )
            return list(rows.all())

    async def outbox(self, ticket_id: int | None = None) -> list[OutboxItem]:
        async with self.store.sessions() as s:
            query = select(OutboxItem).order_by(OutboxItem.id)
            if ticket_id is not None:
                query = query.where(OutboxItem.ticket_id == ticket_id)
            return list((await s.scalars(query)).all())

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        async with self.store.sessions() as s:
            return list(await TicketRepo(s).events(ticket_id))


@pytest.fixture
def desk(store: Store, settings: Settings) -> Desk:
    return Desk(store, settings)


def brief(actions: list[SweepAction]) -> list[tuple[int, str, str, int]]:
    return [(a.ticket, a.action, a.to, a.level) for a in actions]
