"""The outbox: actions written with the change that caused them, sent only after it commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxItem, OutboxStatus


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, item: OutboxItem) -> None:
        self.session.add(item)

    async def due(
        self, now: datetime, limit: int = 100, platforms: Sequence[str] | None = None, after_id: int | None = None
    ) -> Sequence[OutboxItem]:
        """Pending items due at ``now``, most urgent first (priority), then oldest; only those written after
        ``after_id`` if given (``linli replay`` sends only what its own messages caused)."""
        query = (
            select(OutboxItem)
            .where(OutboxItem.status == OutboxStatus.PENDING, OutboxItem.not_before <= now)
            .order_by(OutboxItem.priority.desc(), OutboxItem.not_before, OutboxItem.id)
            .limit(limit)
        )
        if platforms is not None:
            query = query.where(OutboxItem.platform.in_(platforms))
        if after_id is not None:
            query = query.where(OutboxItem.id > after_id)
        return (await self.session.scalars(query)).all()

    async def last_id(self) -> int:
        return int(await self.session.scalar(select(func.max(OutboxItem.id))) or 0)

    async def claim(self, item_id: int) -> bool:
        """Mark one pending item as being sent; False if another sender took it first."""
        result = await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENDING)
        )
        return bool(getattr(result, "rowcount", 0))

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        await self.session.execute(
            update(OutboxItem).where(OutboxItem.id == item_id).values(status=OutboxStatus.SENT, sent_at=at, error=None)
        )

    async def mark_retry(self, item_id: int, *, error: str, not_before: datetime, give_up: bool) -> None:
        await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(
                status=OutboxStatus.FAILED if give_up else OutboxStatus.PENDING,
                error=error[:2000],
                not_before=not_before,
                attempts=OutboxItem.attempts + 1,
            )
        )

    async def defer(self, item_id: int, *, not_before: datetime) -> None:
        """Put an item that was never tried back in the queue for later, without counting an attempt."""
        await self.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(status=OutboxStatus.PENDING, not_before=not_before)
        )

    async def abandon_in_flight(self) -> int:
        """After a crash, items caught mid-send are not resent blindly: they are marked unknown."""
        result = await self.session.execute(
            update(OutboxItem).where(OutboxItem.status == OutboxStatus.SENDING).values(status=OutboxStatus.UNKNOWN)
        )
        return int(getattr(result, "rowcount", 0))
