"""Corrections from the grid: recorded once each, read back for the weekly digest and the training export."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Message, TicketCorrection


class CorrectionRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        ticket_id: int,
        community_id: str,
        at: datetime,
        actor: str,
        change: str,
        text: str,
        decision: dict[str, Any],
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> TicketCorrection:
        row = TicketCorrection(
            ticket_id=ticket_id,
            community_id=community_id,
            at=at,
            actor=actor,
            change=change,
            text=text,
            decision=dict(decision),
            before=dict(before),
            after=dict(after),
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def original_text(self, ticket_id: int) -> str | None:
        """The text of the first message that reported the ticket."""
        text: str | None = await self.session.scalar(
            select(Message.text)
            .where(Message.ticket_id == ticket_id, Message.content_type == "text")
            .order_by(Message.sent_at, Message.id)
            .limit(1)
        )
        return text

    async def latest(self, ticket_id: int) -> TicketCorrection | None:
        found: TicketCorrection | None = await self.session.scalar(
            select(TicketCorrection)
            .where(TicketCorrection.ticket_id == ticket_id)
            .order_by(TicketCorrection.at.desc(), TicketCorrection.id.desc())
            .limit(1)
        )
        return found

    async def between(self, community_id: str, start: datetime, end: datetime) -> Sequence[TicketCorrection]:
        """The community's corrections made in [start, end), oldest first."""
        rows = await self.session.scalars(
            select(TicketCorrection)
            .where(
                TicketCorrection.community_id == community_id,
                TicketCorrection.at >= start,
                TicketCorrection.at < end,
            )
            .order_by(TicketCorrection.at, TicketCorrection.id)
        )
        return rows.all()

    async def of_tickets_corrected_since(self, since: datetime | None) -> Sequence[TicketCorrection]:
        """Every correction of each ticket corrected at or after ``since`` (of all if None), by ticket, in order."""
        query = select(TicketCorrection).order_by(TicketCorrection.ticket_id, TicketCorrection.at, TicketCorrection.id)
        if since is not None:
            recent = select(TicketCorrection.ticket_id).where(TicketCorrection.at >= since)
            query = query.where(TicketCorrection.ticket_id.in_(recent))
        return (await self.session.scalars(query)).all()
