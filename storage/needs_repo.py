"""Monthly needs rounds and what they collected; with the tickets of the same months, the 需求清单."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.council_models import Need, NeedsRound
from storage.models import Ticket


class NeedsRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def start_round(self, community_id: str, month: str, opened_at: datetime, closes_at: datetime) -> bool:
        """Open the month's round; False if it was already opened (in this or another process)."""
        try:
            async with self.session.begin_nested():
                self.session.add(
                    NeedsRound(community_id=community_id, month=month, opened_at=opened_at, closes_at=closes_at)
                )
        except IntegrityError:
            return False
        return True

    async def round_at(self, community_id: str, at: datetime) -> NeedsRound | None:
        """The community's round collecting replies at ``at``, if one is."""
        return await self.session.scalar(
            select(NeedsRound)
            .where(NeedsRound.community_id == community_id, NeedsRound.opened_at <= at, NeedsRound.closes_at > at)
            .order_by(NeedsRound.opened_at.desc())
            .limit(1)
        )

    async def add(self, need: Need) -> Need:
        self.session.add(need)
        await self.session.flush()
        return need

    async def between(self, community_id: str, start: datetime, end: datetime) -> Sequence[Need]:
        rows = await self.session.scalars(
            select(Need).where(Need.community_id == community_id, Need.at >= start, Need.at < end).order_by(Need.id)
        )
        return rows.all()

    async def tickets_between(self, community_id: str, start: datetime, end: datetime) -> Sequence[Ticket]:
        """Tickets opened in [start, end) that no collected need already names: reports read as needs."""
        named = select(Need.ticket_id).where(Need.ticket_id.is_not(None)).scalar_subquery()
        rows = await self.session.scalars(
            select(Ticket)
            .where(
                Ticket.community_id == community_id,
                Ticket.opened_at >= start,
                Ticket.opened_at < end,
                Ticket.kind.in_(("trivial", "major")),
                Ticket.id.not_in(named),
            )
            .order_by(Ticket.id)
        )
        return rows.all()
