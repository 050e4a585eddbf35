"""Household votes and the ballots cast in them (append-only: the latest ballot of a household counts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.council_models import Ballot, Vote


class VoteRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open(
        self,
        *,
        item_id: int,
        ticket_id: int,
        unit_id: str,
        title: str,
        at: datetime,
        by: str,
        deadline: datetime,
        rule: dict[str, Any],
        listed: bool,
        eligible: int | None,
    ) -> Vote:
        vote = Vote(
            item_id=item_id,
            ticket_id=ticket_id,
            unit_id=unit_id,
            title=title,
            opened_at=at,
            opened_by=by,
            deadline=deadline,
            rule=rule,
            listed=listed,
            eligible=eligible,
        )
        self.session.add(vote)
        await self.session.flush()
        return vote

    async def running(self, item_id: int) -> Vote | None:
        """The item's vote that has not been closed yet, if any."""
        return await self.session.scalar(
            select(Vote).where(Vote.item_id == item_id, Vote.closed_at.is_(None)).order_by(Vote.id.desc())
        )

    async def latest(self, ticket_id: int) -> Vote | None:
        return await self.session.scalar(select(Vote).where(Vote.ticket_id == ticket_id).order_by(Vote.id.desc()))

    async def of_ticket(self, ticket_id: int) -> Sequence[Vote]:
        return (await self.session.scalars(select(Vote).where(Vote.ticket_id == ticket_id).order_by(Vote.id))).all()

    async def recent(self, since: datetime) -> Sequence[Vote]:
        """Votes still running, or whose deadline passed after ``since`` (a late ballot is told it is too late)."""
        rows = await self.session.scalars(
            select(Vote).where((Vote.closed_at.is_(None)) | (Vote.deadline > since)).order_by(Vote.id)
        )
        return rows.all()

    async def due(self, now: datetime, limit: int) -> Sequence[Vote]:
        """Votes whose deadline has passed and whose tally is not announced yet, oldest first."""
        rows = await self.session.scalars(
            select(Vote)
            .where(Vote.closed_at.is_(None), Vote.deadline <= now)
            .order_by(Vote.deadline, Vote.id)
            .limit(limit)
        )
        return rows.all()

    async def close(self, vote: Vote, at: datetime) -> bool:
        """Mark ``vote`` closed at ``at``; False if another run closed it first. One conditional UPDATE: two
        processes closing it at once take turns on the row (PostgreSQL's row lock, SQLite's one writer), and
        the second finds it closed, so the tally is announced once."""
        result = await self.session.execute(
            update(Vote)
            .where(Vote.id == vote.id, Vote.closed_at.is_(None))
            .values(closed_at=at)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return False
        set_committed_value(vote, "closed_at", at)
        return True

    async def cast(
        self,
        vote: Vote,
        *,
        household_id: str,
        choice: str,
        platform: str,
        sender_id: str,
        sender_name: str,
        person_id: str | None,
        at: datetime,
        message_id: str,
    ) -> Ballot | None:
        """Record a ballot; the household's previous one (which it replaces), if any."""
        previous = await self.session.scalar(
            select(Ballot)
            .where(Ballot.vote_id == vote.id, Ballot.household_id == household_id)
            .order_by(Ballot.id.desc())
            .limit(1)
        )
        self.session.add(
            Ballot(
                vote_id=vote.id,
                household_id=household_id,
                choice=choice,
                platform=platform,
                sender_id=sender_id,
                sender_name=sender_name,
                person_id=person_id,
                at=at,
                message_id=message_id,
            )
        )
        await self.session.flush()
        return previous

    async def current(self, vote_id: int) -> dict[str, str]:
        """Household -> choice, each household's latest ballot: what the tally counts."""
        latest = (
            select(func.max(Ballot.id)).where(Ballot.vote_id == vote_id).group_by(Ballot.household_id).scalar_subquery()
        )
        rows = await self.session.execute(
            select(Ballot.household_id, Ballot.choice).where(Ballot.id.in_(latest)).order_by(Ballot.household_id)
        )
        return {str(household): str(choice) for household, choice in rows.all()}

    async def ballots(self, vote_id: int) -> Sequence[Ballot]:
        """Every ballot cast, replaced ones included, in order: the audit trail."""
        return (await self.session.scalars(select(Ballot).where(Ballot.vote_id == vote_id).order_by(Ballot.id))).all()
