"""The 楼长信箱: suggestions, who they went to, and the answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.council_models import Suggestion


class SuggestionRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, suggestion: Suggestion) -> Suggestion:
        self.session.add(suggestion)
        await self.session.flush()
        return suggestion

    async def get(self, suggestion_id: int) -> Suggestion | None:
        return await self.session.get(Suggestion, suggestion_id)

    async def list(self, community_id: str | None = None) -> Sequence[Suggestion]:
        query = select(Suggestion).order_by(Suggestion.id)
        if community_id:
            query = query.where(Suggestion.community_id == community_id)
        return (await self.session.scalars(query)).all()

    async def counts(self, community_id: str, start: datetime, end: datetime) -> tuple[int, int, int]:
        """(received in [start, end), answered by ``end``, still unanswered past their due date at ``end``)."""
        where = (Suggestion.community_id == community_id, Suggestion.at >= start, Suggestion.at < end)
        received = await self.session.scalar(select(func.count()).select_from(Suggestion).where(*where))
        answered = await self.session.scalar(
            select(func.count()).select_from(Suggestion).where(*where, Suggestion.answered_at < end)
        )
        overdue = await self.session.scalar(
            select(func.count())
            .select_from(Suggestion)
            .where(
                Suggestion.community_id == community_id,
                Suggestion.due_at < end,
                (Suggestion.answered_at.is_(None)) | (Suggestion.answered_at >= end),
            )
        )
        return int(received or 0), int(answered or 0), int(overdue or 0)
