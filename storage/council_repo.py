"""Council items and the record of their steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.council_models import CouncilItem, CouncilStep
from storage.models import Ticket

FINAL_STAGE = "result_published"


def held_by_council() -> ColumnElement[bool]:
    """True for a ticket that is a council item whose result is not public yet: it may not close."""
    return exists().where(
        CouncilItem.ticket_id == Ticket.id,
        or_(CouncilItem.stage.is_(None), CouncilItem.stage != FINAL_STAGE),
    )


class CouncilRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        ticket: Ticket,
        title: str,
        at: datetime,
        by: str,
        suggestion_id: int | None = None,
    ) -> CouncilItem:
        item = CouncilItem(
            ticket_id=ticket.id,
            community_id=ticket.community_id,
            unit_id=ticket.unit_id,
            title=title,
            stage=None,
            added_at=at,
            added_by=by,
            suggestion_id=suggestion_id,
        )
        self.session.add(item)
        await self.session.flush()
        return item

    async def of_ticket(self, ticket_id: int) -> CouncilItem | None:
        return await self.session.scalar(select(CouncilItem).where(CouncilItem.ticket_id == ticket_id))

    async def of_suggestion(self, suggestion_id: int) -> CouncilItem | None:
        return await self.session.scalar(select(CouncilItem).where(CouncilItem.suggestion_id == suggestion_id))

    async def holds(self, ticket_id: int) -> bool:
        """Whether the ticket waits for its council result to be published before it may close."""
        found = await self.session.scalar(
            select(CouncilItem.id).where(
                and_(
                    CouncilItem.ticket_id == ticket_id,
                    or_(CouncilItem.stage.is_(None), CouncilItem.stage != FINAL_STAGE),
                )
            )
        )
        return found is not None

    async def holding(self, ticket_ids: Sequence[int]) -> set[int]:
        """Those of ``ticket_ids`` that wait for their council result: ``holds`` for a batch, in one query."""
        if not ticket_ids:
            return set()
        rows = await self.session.scalars(
            select(CouncilItem.ticket_id).where(
                CouncilItem.ticket_id.in_(list(ticket_ids)),
                or_(CouncilItem.stage.is_(None), CouncilItem.stage != FINAL_STAGE),
            )
        )
        return set(rows.all())

    async def record(
        self, item: CouncilItem, *, stage: str, actor: str, actor_name: str, at: datetime, text: str
    ) -> None:
        self.session.add(
            CouncilStep(item_id=item.id, stage=stage, actor=actor, actor_name=actor_name, at=at, text=text)
        )
        item.stage = stage
        await self.session.flush()

    async def steps(self, item_id: int) -> Sequence[CouncilStep]:
        rows = await self.session.scalars(
            select(CouncilStep).where(CouncilStep.item_id == item_id).order_by(CouncilStep.id)
        )
        return rows.all()

    async def step(self, item_id: int, stage: str) -> CouncilStep | None:
        return await self.session.scalar(
            select(CouncilStep).where(CouncilStep.item_id == item_id, CouncilStep.stage == stage)
        )

    async def in_community(self, community_id: str, *, unfinished: bool = True) -> Sequence[CouncilItem]:
        query = select(CouncilItem).where(CouncilItem.community_id == community_id)
        if unfinished:
            query = query.where(or_(CouncilItem.stage.is_(None), CouncilItem.stage != FINAL_STAGE))
        return (await self.session.scalars(query.order_by(CouncilItem.added_at, CouncilItem.id))).all()
