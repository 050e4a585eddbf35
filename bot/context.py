"""What handlers and jobs may use: the session-bound repositories, settings, the clock.

``Scope`` is what every piece of product code gets: a handler's ``Context`` adds the message's decision,
group and sender; a job's ``JobContext`` adds when its messages would go out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.message import OutgoingMessage
from config.settings import Settings
from nlp.command import Command
from nlp.decision import Decision
from storage.message_repo import MessageRow
from storage.models import ChatGroup, Person
from storage.org_repo import OrgRepo
from storage.ticket_repo import TicketRepo


@dataclass(kw_only=True)
class Scope:
    session: AsyncSession
    settings: Settings
    now: datetime
    org: OrgRepo = field(init=False)
    tickets: TicketRepo = field(init=False)

    def __post_init__(self) -> None:
        self.org = OrgRepo(self.session)
        self.tickets = TicketRepo(self.session)


@dataclass(kw_only=True)
class Context(Scope):
    """One inbound message being handled."""

    stored: MessageRow
    decision: Decision
    group: ChatGroup | None
    sender: Person | None
    command: Command | None = None

    def actor(self, platform: str, sender_id: str) -> str:
        """How the history names whoever sent this message: a person id, or platform:user for a resident."""
        return self.sender.id if self.sender is not None else f"{platform}:{sender_id}"

    @property
    def unit_id(self) -> str | None:
        return self.group.unit_id if self.group is not None else None


@dataclass(kw_only=True)
class JobContext(Scope):
    """One run (or one step of a run) of a scheduled job."""

    send_at: Callable[[OutgoingMessage], datetime]
    """When a message the job returns would go out: ``now``, or the end of the quiet hours if it may wait."""
    withdraw: Callable[[Collection[int]], Awaitable[set[int]]]
    """Take back these tickets' reminders and escalations still waiting in the outbox (the ticket moved on
    first); returns the tickets that had any."""
