"""Transcripts on the grid: residents and leaders typing at chosen instants, jobs run at chosen instants.

The classifier is the real one, except for the texts a test scripts (``decide``): the grid's behaviour
is tested on decisions the test chooses, not on what the rules and the model happen to say this week.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service
from bot.jobs import Job
from bot.message import DirectMessage, IncomingMessage, OutgoingMessage, Say
from nlp.decision import Classifier, Decision, Domain, Kind
from storage.models import OutboxItem, Ticket, TicketCorrection, TicketEvent
from tests.conftest import T0


class Scripted:
    """The service's classifier, with the decisions of some texts fixed by the test."""

    def __init__(self, real: Classifier) -> None:
        self.real = real
        self.decisions: dict[str, Decision] = {}

    def classify(self, text: str) -> Decision:
        return self.decisions.get(text) or self.real.classify(text)


class GridChat:
    """Feeds messages at a clock the test moves, drains the outbox at the same clock, returns what was sent."""

    def __init__(self, service: Service, adapter: SimulatedAdapter, start: datetime = T0) -> None:
        self.service = service
        self.adapter = adapter
        self.clock = start
        self.counter = 0
        self.classifier = Scripted(service.pipeline.classifier)
        service.pipeline.classifier = self.classifier

    def decide(
        self,
        text: str,
        *,
        kind: Kind = Kind.MAJOR,
        urgent: bool = False,
        check: bool = False,
        domain: Domain = Domain.SAFETY,
        rules: Sequence[str] = ("test.scripted",),
    ) -> str:
        self.classifier.decisions[text] = Decision(kind, urgent, domain, 0.9, tuple(rules), check)
        return text

    def later(self, **delta: float) -> datetime:
        self.clock += timedelta(**delta)
        return self.clock

    async def send(
        self, chat_id: str, sender: str, text: str, name: str | None, after: timedelta
    ) -> list[OutgoingMessage]:
        self.clock += after
        self.counter += 1
        msg = IncomingMessage(
            platform="sim",
            chat_id=chat_id,
            chat_name=chat_id,
            sender_id=sender,
            sender_name=name or sender,
            text=text,
            message_id=f"m-{self.counter}",
            time=self.clock,
        )
        before = len(self.adapter.sent)
        await self.service.receive(msg, now=self.clock)
        await self.service.outbox.drain(now=self.clock)
        return list(self.adapter.sent[before:])

    async def post(
        self, sender: str, text: str, *, chat: str = "sim-sdc-3", name: str | None = None, after: float = 1
    ) -> list[OutgoingMessage]:
        """``sender`` writes ``text`` in the group ``after`` minutes after the last thing that happened."""
        return await self.send(chat, sender, text, name, timedelta(minutes=after))

    async def dm(self, sender: str, text: str, *, after: float = 1) -> list[OutgoingMessage]:
        return await self.send("dm", sender, text, None, timedelta(minutes=after))

    async def run(self, job: Job, at: datetime) -> list[OutgoingMessage]:
        """Run ``job`` as the scheduler would at ``at``, then send what is due then."""
        self.clock = at
        before = len(self.adapter.sent)
        await self.service.jobs.run(job, at)
        await self.service.outbox.drain(now=at)
        return list(self.adapter.sent[before:])

    async def ticket(self, number: int) -> Ticket:
        async with self.service.store.sessions() as session:
            ticket = await session.get(Ticket, number)
            assert ticket is not None
            return ticket

    async def events(self, number: int) -> list[str]:
        async with self.service.store.sessions() as session:
            rows = await session.scalars(
                select(TicketEvent.action).where(TicketEvent.ticket_id == number).order_by(TicketEvent.id)
            )
            return list(rows)

    async def corrections(self) -> list[TicketCorrection]:
        async with self.service.store.sessions() as session:
            return list(await session.scalars(select(TicketCorrection).order_by(TicketCorrection.id)))

    async def queued(self, number: int) -> list[OutboxItem]:
        async with self.service.store.sessions() as session:
            rows = await session.scalars(
                select(OutboxItem).where(OutboxItem.ticket_id == number).order_by(OutboxItem.id)
            )
            return list(rows)


def dms(sent: Sequence[OutgoingMessage]) -> dict[str, str]:
    """Direct messages by recipient."""
    return {m.to: m.text for m in sent if isinstance(m, DirectMessage)}


def says(sent: Sequence[OutgoingMessage]) -> list[Say]:
    return [m for m in sent if isinstance(m, Say)]


def text(sent: Sequence[OutgoingMessage]) -> str:
    return "\n".join(m.text for m in sent if isinstance(m, Say | DirectMessage))
