"""The check tier in the database: tickets whose check went unanswered, and settling a check exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from storage.job_repo import JobRepo
from storage.models import CheckState, Ticket

LOCK = ("checks", "sweep-lock")


class CheckRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, now: datetime) -> None:
        """One run at a time across processes; must be the transaction's first statement (see JobRepo.lock)."""
        await JobRepo(self.session).lock(*LOCK, now)

    async def unanswered(self, now: datetime, limit: int) -> Sequence[Ticket]:
        """Tickets whose check is still pending at ``now`` although its answer was due, oldest first."""
        rows = await self.session.scalars(
            select(Ticket)
            .where(Ticket.check_due_at <= now, Ticket.check_state == CheckState.PENDING)
            .order_by(Ticket.check_due_at, Ticket.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # an answer in flight wins; settle() would refuse anyway
        )
        return rows.all()

    async def settle(self, ticket: Ticket, state: CheckState, was: CheckState = CheckState.PENDING) -> bool:
        """Move a check from ``was`` (pending) to ``state``; False (nothing changed) if it was no longer in ``was``.

        One conditional UPDATE, so an answer and the timeout (in two processes, two transactions) cannot
        both win: on PostgreSQL the second waits for the first's row lock and then finds nothing pending.
        The loser's ``ticket`` is read again whole: the winner may have changed more than the check.
        """
        result = await self.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id, Ticket.check_state == was)
            .values(check_state=state.value, check_due_at=None)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            await self.session.refresh(ticket)
            return False
        set_committed_value(ticket, "check_state", state.value)
        set_committed_value(ticket, "check_due_at", None)
        return True
