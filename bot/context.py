"""What a handler may use: the session-bound repositories, settings, the decision, the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from nlp.command import Command
from nlp.decision import Decision
from storage.models import ChatGroup, Message, Person
from storage.org_repo import OrgRepo
from storage.ticket_repo import TicketRepo


@dataclass
class Context:
    session: AsyncSession
    settings: Settings
    now: datetime
    stored: Message
    decision: Decision
    group: ChatGroup | None
    sender: Person | None
    command: Command | None = None
    org: OrgRepo = field(init=False)
    tickets: TicketRepo = field(init=False)

    def __post_init__(self) -> None:
        self.org = OrgRepo(self.session)
        self.tickets = TicketRepo(self.session)

    def actor(self, platform: str, sender_id: str) -> str:
        """How the history names whoever sent this message: a person id, or platform:user for a resident."""
        return self.sender.id if self.sender is not None else f"{platform}:{sender_id}"

    @property
    def unit_id(self) -> str | None:
        return self.group.unit_id if self.group is not None else None
