"""Transcripts of the residents' council and voice on the simulated platform, on SQLite and PostgreSQL.

The org is config/example-org.yaml: 老西街5号楼 (lxc-5, group ``sim-lxc-5``) lists its twelve households
(101 … 602; 邓婆婆 lives in 101, 602 is a tenant's); 时代城3栋 (sdc-3, ``sim-sdc-3``) lists none. 陈志华
(``chen``) and 黄敏 sit on the community committee, 卢桂芳 (``lu``) is 老西街's branch secretary and records
its party members' meeting, 邓婆婆 (``r-deng``) and 王阿姨 (``wangayi``) are residents' representatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service
from bot.message import DirectMessage, IncomingMessage, OutgoingMessage, Say
from storage.models import OutboxItem, Ticket
from tests.conftest import SHANGHAI

Sim = tuple[Service, SimulatedAdapter]
START = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
"""A Tuesday, a working day."""


class Talk:
    """Messages typed into groups or to the bot one minute apart; what the bot said back to each."""

    def __init__(self, sim: Sim, start: datetime = START) -> None:
        self.service, self.adapter = sim
        self.clock = start
        self.count = 0

    async def say(self, chat: str, sender: str, text: str, name: str | None = None) -> list[OutgoingMessage]:
        self.count += 1
        self.clock += timedelta(minutes=1)
        message = IncomingMessage(
            platform="sim",
            chat_id=chat,
            chat_name=chat,
            sender_id=sender,
            sender_name=name or sender,
            text=text,
            message_id=f"talk-{self.count}",
            time=self.clock,
        )
        before = len(self.adapter.sent)
        await self.service.receive(message, now=self.clock)
        await self.service.outbox.drain(now=self.clock)
        return list(self.adapter.sent[before:])

    async def dm(self, sender: str, text: str, name: str | None = None) -> list[OutgoingMessage]:
        return await self.say("dm", sender, text, name)

    async def run(self, job: str, at: datetime) -> list[OutgoingMessage]:
        """Run a scheduled job as the scheduler would at ``at``; what it sent."""
        self.clock = at
        before = len(self.adapter.sent)
        await self.service.scheduler.run(job, at)
        await self.service.outbox.drain(now=at)
        return list(self.adapter.sent[before:])

    async def ticket(self, number: int) -> Ticket:
        async with self.service.store.sessions() as session:
            found = await session.get(Ticket, number)
            assert found is not None
            return found

    async def queued(self, since: int = 0) -> list[OutboxItem]:
        """Every outbox row (on every platform, sent or not) with an id above ``since``."""
        async with self.service.store.sessions() as session:
            rows = await session.scalars(select(OutboxItem).where(OutboxItem.id > since).order_by(OutboxItem.id))
            return list(rows.all())

    async def last_outbox_id(self) -> int:
        rows = await self.queued()
        return rows[-1].id if rows else 0


@pytest.fixture
def talk(sim: Sim) -> Talk:
    return Talk(sim)


def text(replies: Sequence[OutgoingMessage]) -> str:
    return "\n".join(r.text for r in replies if isinstance(r, Say | DirectMessage))


def to_chat(replies: Sequence[OutgoingMessage], chat: str) -> list[str]:
    return [r.text for r in replies if isinstance(r, Say) and r.chat_id == chat]


def to_person(replies: Sequence[OutgoingMessage], user: str) -> list[str]:
    return [r.text for r in replies if isinstance(r, DirectMessage) and r.to == user]
