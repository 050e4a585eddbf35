"""The one harness for tests that run linli's real service, whatever platform sits at its edge.

``running(settings, adapters)`` opens the store, imports an org, wires ``bot.app.Service`` as ``linli run``
does (pipeline, outbox workers, scheduler, optionally the HTTP server) and records what happened: every
inbound message's ``FeedResult`` and every outbox item delivered, with a condition to wait on instead of
sleeping. The read helpers below look at what the service stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from bot.adapters.base import Adapter
from bot.app import Service, import_org, open_store
from bot.message import IncomingMessage
from bot.pipeline import FeedResult
from config.settings import CONFIG_DIR, Settings
from storage.models import Message, OutboxItem, Ticket, TicketEvent
from storage.ticket_repo import TicketRepo

EXAMPLE_ORG = CONFIG_DIR / "example-org.yaml"


@dataclass
class RecordingService(Service):
    """The real service, remembering each inbound message's result; ``clock`` stamps what it stores.

    Without a ``clock`` a message is handled at the time it was written, never at the machine's: quiet
    hours and deadlines follow the test's timeline at whatever hour the suite runs."""

    clock: Callable[[], datetime] | None = None
    results: list[FeedResult] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def receive(self, msg: IncomingMessage, now: datetime | None = None) -> FeedResult:
        result = await super().receive(msg, now or (self.clock() if self.clock is not None else msg.time))
        self.results.append(result)
        await self.notify()
        return result

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()


@dataclass
class Running:
    service: RecordingService
    sent: list[OutboxItem]
    """Every outbox item the service delivered, in order."""

    @property
    def results(self) -> list[FeedResult]:
        return self.service.results

    @property
    def base(self) -> str:
        """The HTTP server's address (when started with ``http=True``)."""
        return f"http://127.0.0.1:{self.service.http_port}"

    @property
    def admin(self) -> str:
        """The admin listener's address (when the settings give it a port)."""
        return f"http://127.0.0.1:{self.service.admin_port}"

    async def until(self, done: Callable[[], bool], within: float = 10.0) -> None:
        """Wait (without sleeping) until the pipeline or the outbox has made ``done()`` true."""
        changed = self.service.changed
        async with asyncio.timeout(within), changed:
            await changed.wait_for(done)

    async def delivered(self, result: FeedResult, within: float = 10.0) -> None:
        """Wait until every message ``result`` queued has been sent."""
        await self.until(lambda: set(result.outbox_ids) <= {item.id for item in self.sent}, within)


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    adapters: Sequence[Adapter],
    *,
    org: Path = EXAMPLE_ORG,
    start: bool = True,
    http: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[Running]:
    """The service on ``adapters`` with ``org`` imported; started (adapters connected, workers and scheduler
    running) unless ``start`` is False, when the caller drives it (``receive``, ``outbox.drain``)."""
    sent: list[OutboxItem] = []
    async with open_store(settings) as store:
        await import_org(store, org)

        def observed(item: OutboxItem) -> None:
            sent.append(item)
            asyncio.get_running_loop().create_task(service.notify())

        service = RecordingService(settings, store, list(adapters), observer=observed, clock=clock)
        if start:
            await service.start(http=http)
        else:
            for adapter in adapters:
                await adapter.start(service.receive)
        try:
            yield Running(service, sent)
        finally:
            await service.stop()


async def tickets(service: Service) -> list[Ticket]:
    async with service.store.sessions() as session:
        return list(await TicketRepo(session).list())


async def ticket(service: Service, ticket_id: int) -> Ticket:
    async with service.store.sessions() as session:
        found = await TicketRepo(session).get(ticket_id)
    assert found is not None, f"no ticket #{ticket_id}"
    return found


async def history(service: Service, ticket_id: int) -> list[TicketEvent]:
    async with service.store.sessions() as session:
        return list(await TicketRepo(session).events(ticket_id))


async def queued(service: Service, ticket_id: int | None = None) -> list[OutboxItem]:
    """The outbox rows written (for one ticket), oldest first: what the service decided to send."""
    async with service.store.sessions() as session:
        query = select(OutboxItem).order_by(OutboxItem.id)
        if ticket_id is not None:
            query = query.where(OutboxItem.ticket_id == ticket_id)
        return list((await session.scalars(query)).all())


async def stored(service: Service) -> dict[str, str]:
    """Every message the core received and stored: message id -> content type."""
    async with service.store.sessions() as session:
        rows = await session.execute(select(Message.message_id, Message.content_type).order_by(Message.id))
        return {str(mid): str(kind) for mid, kind in rows.all()}
