"""Tickets, their reporters and their append-only history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import UNFINISHED_STATES, Ticket, TicketEvent, TicketReporter, TicketState


@dataclass(frozen=True)
class TicketFilter:
    community_id: str | None = None
    unit_ids: Sequence[str] | None = None
    states: Sequence[str] | None = None
    kind: str | None = None
    overdue_at: datetime | None = None
    """Only unfinished tickets whose current deadline had passed at this time."""


class TicketRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(
        self,
        *,
        community_id: str,
        unit_id: str,
        platform: str,
        chat_id: str,
        kind: str,
        urgent: bool,
        domain: str,
        summary: str,
        decision: dict[str, Any],
        assignee_id: str | None,
        opened_at: datetime,
        actor: str,
    ) -> Ticket:
        ticket = Ticket(
            community_id=community_id,
            unit_id=unit_id,
            platform=platform,
            chat_id=chat_id,
            kind=kind,
            urgent=urgent,
            domain=domain,
            summary=summary,
            decision=decision,
            assignee_id=assignee_id,
            opened_at=opened_at,
            state=TicketState.OPEN,
            escalation_level=0,
            sla_due_at=opened_at,
        )
        self.session.add(ticket)
        await self.session.flush()
        self.session.add(
            TicketEvent(ticket_id=ticket.id, at=opened_at, actor=actor, action="open", from_state=None, to_state="open")
        )
        if assignee_id is not None:
            await self.transition(
                ticket, TicketState.ASSIGNED, actor="linli", action="assign", at=opened_at, note=assignee_id
            )
        return ticket

    async def transition(
        self, ticket: Ticket, to_state: TicketState, *, actor: str, action: str, at: datetime, note: str = ""
    ) -> None:
        self._event(ticket, to_state, actor=actor, action=action, at=at, note=note)
        ticket.state = to_state
        ticket.sla_due_at = at  # a state change starts or stops a deadline clock: the next sweep looks again
        await self.session.flush()

    async def note(self, ticket: Ticket, *, actor: str, action: str, at: datetime, note: str = "") -> None:
        """A history entry that does not change the state (an attachment, a reminder)."""
        self._event(ticket, TicketState(ticket.state), actor=actor, action=action, at=at, note=note)
        await self.session.flush()

    def _event(
        self, ticket: Ticket, to_state: TicketState, *, actor: str, action: str, at: datetime, note: str
    ) -> None:
        self.session.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=at,
                actor=actor,
                action=action,
                from_state=ticket.state,
                to_state=to_state,
                note=note,
            )
        )

    async def add_reporter(
        self, ticket: Ticket, *, platform: str, sender_id: str, sender_name: str, person_id: str | None, at: datetime
    ) -> bool:
        """Add a reporter; False if this sender already reported the ticket."""
        if await self.session.get(TicketReporter, (ticket.id, platform, sender_id)) is not None:
            return False
        self.session.add(
            TicketReporter(
                ticket_id=ticket.id,
                platform=platform,
                sender_id=sender_id,
                sender_name=sender_name,
                person_id=person_id,
                reported_at=at,
            )
        )
        await self.session.flush()
        await self.session.refresh(ticket, ["reporters"])
        return True

    async def remove_reporter(self, ticket: Ticket, *, platform: str, sender_id: str) -> None:
        reporter = await self.session.get(TicketReporter, (ticket.id, platform, sender_id))
        if reporter is not None:
            await self.session.delete(reporter)
            await self.session.flush()
            await self.session.refresh(ticket, ["reporters"])

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self.session.get(Ticket, ticket_id)

    async def events(self, ticket_id: int) -> Sequence[TicketEvent]:
        rows = await self.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
        return rows.all()

    async def assigned_to(self, person_id: str) -> Sequence[Ticket]:
        rows = await self.session.scalars(select(Ticket).where(Ticket.assignee_id == person_id).order_by(Ticket.id))
        return rows.all()

    async def reported_by(self, platform: str, sender_id: str) -> Sequence[Ticket]:
        rows = await self.session.scalars(
            select(Ticket)
            .join(TicketReporter)
            .where(TicketReporter.platform == platform, TicketReporter.sender_id == sender_id)
            .order_by(Ticket.id)
        )
        return rows.all()

    async def list(self, where: TicketFilter | None = None) -> Sequence[Ticket]:
        query = select(Ticket).order_by(Ticket.id)
        if where is not None:
            if where.community_id:
                query = query.where(Ticket.community_id == where.community_id)
            if where.unit_ids is not None:
                query = query.where(Ticket.unit_id.in_(where.unit_ids))
            if where.states:
                query = query.where(Ticket.state.in_(where.states))
            if where.kind:
                query = query.where(Ticket.kind == where.kind)
            if where.overdue_at is not None:
                query = query.where(Ticket.sla_deadline_at < where.overdue_at, Ticket.state.in_(UNFINISHED_STATES))
        return (await self.session.scalars(query)).all()
