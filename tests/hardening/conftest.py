"""Two communities on the simulated platform: the fixtures for tests that nothing crosses between them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service
from bot.message import DirectMessage, IncomingMessage, OutgoingMessage, Say
from config.settings import Settings
from storage.models import Ticket, TicketEvent
from tests.conftest import Chat
from tests.harness import running

TWO_COMMUNITIES = Path(__file__).with_name("two-communities.yaml")


class Desk:
    """Feed messages in any group of the two communities; read back replies and tickets."""

    def __init__(self, service: Service, adapter: SimulatedAdapter) -> None:
        self.service = service
        self.adapter = adapter
        self.chats: dict[str, Chat] = {}
        self.clock = Chat("sim-sdc-3").clock
        self.bursts = 0

    def chat(self, chat_id: str) -> Chat:
        chat = self.chats.setdefault(chat_id, Chat(chat_id))
        chat.clock = self.clock
        return chat

    async def burst(self, chat_id: str, sender: str, texts: list[str]) -> list[OutgoingMessage]:
        """One sender posting ``texts`` a second apart, as a flood arrives."""
        chat = Chat(chat_id, start=self.clock, step=timedelta(seconds=1))
        answers: list[OutgoingMessage] = []
        for text in texts:
            self.bursts += 1
            answers += await self.feed(chat.msg(sender, text, message_id=f"{chat_id}-burst-{self.bursts}"))
        return answers

    async def feed(self, msg: IncomingMessage) -> list[OutgoingMessage]:
        before = len(self.adapter.sent)
        await self.service.receive(msg)
        await self.service.outbox.drain()
        self.clock = msg.time + timedelta(seconds=1)
        return list(self.adapter.sent[before:])

    async def say(self, chat_id: str, sender: str, text: str, name: str | None = None) -> list[OutgoingMessage]:
        return await self.feed(self.chat(chat_id).msg(sender, text, name=name))

    async def dm(self, sender: str, text: str) -> list[OutgoingMessage]:
        return await self.feed(self.chat("dm").msg(sender, text))

    async def ticket(self, number: int) -> Ticket:
        async with self.service.store.sessions() as session:
            ticket = await session.get(Ticket, number)
            assert ticket is not None
            return ticket

    async def events(self, number: int) -> list[tuple[str, str]]:
        async with self.service.store.sessions() as session:
            rows = await session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == number).order_by(TicketEvent.id)
            )
            return [(e.action, e.to_state) for e in rows]


def texts(replies: list[OutgoingMessage]) -> str:
    return "\n".join(r.text if isinstance(r, Say | DirectMessage) else r.caption for r in replies)


@pytest.fixture
async def two(settings: Settings) -> AsyncIterator[Desk]:
    """The service with both communities imported, driven by the test."""
    adapter = SimulatedAdapter()
    async with running(settings, [adapter], org=TWO_COMMUNITIES, start=False) as it:
        yield Desk(it.service, adapter)
