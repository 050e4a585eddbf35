"""The deadline sweep's reads and writes, in batches: due tickets as plain rows, their history, their reminders.

Each ticket row carries its deadline state (see handlers/deadlines.py); the sweep reads the tickets whose
``sla_due_at`` has passed, plans what to do in memory and writes the result back here in a few
statements per batch, whatever the batch's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.job_repo import JobRepo
from storage.models import Person, Ticket, TicketEvent, TicketReminder

LOCK = ("deadlines", "sweep-lock")
CHUNK = 500
"""Ids per IN (...) list."""


@dataclass(slots=True)
class DueTicket:
    """A ticket as the sweep reads and changes it (plain data: no ORM bookkeeping per ticket)."""

    id: int
    state: str
    kind: str
    urgent: bool
    domain: str
    summary: str
    platform: str
    chat_id: str
    unit_id: str
    assignee_id: str | None
    opened_at: datetime
    accepted_at: datetime | None
    escalation_level: int
    sla_state: str | None
    sla_stage: str | None
    sla_cycle: int
    sla_step: int
    sla_started_at: datetime | None
    sla_deadline_at: datetime | None
    sla_due_at: datetime | None
    check_state: str | None = None


READ = tuple(f.name for f in fields(DueTicket))
WRITTEN = (
    "state",
    "escalation_level",
    "sla_state",
    "sla_stage",
    "sla_cycle",
    "sla_step",
    "sla_started_at",
    "sla_deadline_at",
    "sla_due_at",
)
"""The columns a sweep may change: the state and level (through the lifecycle's rules) and the deadline state."""
TICKETS = cast(Table, Ticket.__table__)
EVENTS = cast(Table, TicketEvent.__table__)
REMINDERS = cast(Table, TicketReminder.__table__)
# Built once, as Core statements over plain rows: the ORM's bulk paths would build their bookkeeping for
# every row. The parameters are prefixed because a column's own name is reserved in an UPDATE's SET.
_UPDATE_TICKET = (
    update(TICKETS)
    .where(TICKETS.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in WRITTEN})
    .execution_options(synchronize_session=False)
)
_SETTLE_REMINDER = update(REMINDERS).where(REMINDERS.c.id == bindparam("b_id")).values(status=bindparam("b_status"))


@dataclass
class SweepWrites:
    """What one batch writes: new history and reminder records, changed tickets and held reminders."""

    tickets: Sequence[DueTicket]
    events: list[dict[str, Any]]
    reminders: list[dict[str, Any]]
    settled: list[tuple[int, str]]
    """(reminder id, new status) for held reminders that went out or were taken back."""


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


class DeadlineRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, now: datetime) -> None:
        """One sweep at a time across processes; must be the transaction's first statement (see JobRepo.lock)."""
        await JobRepo(self.session).lock(*LOCK, now)

    async def flag_left_assignees(self, now: datetime, states: Sequence[str]) -> None:
        """Tickets in ``states`` whose assignee left the org, not yet raised a level: due now."""
        left = select(Person.id).where(Person.active.is_(False)).scalar_subquery()
        await self.session.execute(
            update(Ticket)
            .where(
                Ticket.assignee_id.in_(left),
                Ticket.escalation_level == 0,
                Ticket.state.in_(states),
                Ticket.sla_due_at > now,
            )
            .values(sla_due_at=now)
            .execution_options(synchronize_session=False)
        )

    async def due(self, now: datetime, limit: int) -> list[DueTicket]:
        """Up to ``limit`` tickets due at ``now``, locked until the sweep commits (PostgreSQL): what the sweep
        writes back was planned from what it read. A ticket a message is changing right now is skipped, not
        waited for; it is still due at the next sweep."""
        columns = [getattr(Ticket, name) for name in READ]
        rows = await self.session.execute(
            select(*columns)
            .where(Ticket.sla_due_at <= now)
            .order_by(Ticket.sla_due_at, Ticket.id)
            .limit(limit)
            .with_for_update(of=Ticket, skip_locked=True)
        )
        return [DueTicket(**row._mapping) for row in rows.all()]

    async def state_entered(self, ids: Sequence[int]) -> dict[int, datetime]:
        """When each ticket entered its current state (its latest history entry into it)."""
        entered: dict[int, datetime] = {}
        for chunk in _chunks(ids):
            rows = await self.session.execute(
                select(TicketEvent.ticket_id, func.max(TicketEvent.at))
                .join(Ticket, (Ticket.id == TicketEvent.ticket_id) & (Ticket.state == TicketEvent.to_state))
                .where(TicketEvent.ticket_id.in_(chunk))
                .group_by(TicketEvent.ticket_id)
            )
            entered.update((ticket_id, at) for ticket_id, at in rows.all() if at is not None)
        return entered

    async def held(self, ids: Sequence[int], status: str) -> dict[int, list[int]]:
        """Ticket id -> ids of its reminders in ``status`` (those the quiet hours still hold)."""
        held: dict[int, list[int]] = defaultdict(list)
        for chunk in _chunks(ids):
            rows = await self.session.execute(
                select(TicketReminder.ticket_id, TicketReminder.id).where(
                    TicketReminder.ticket_id.in_(chunk), TicketReminder.status == status
                )
            )
            for ticket_id, reminder_id in rows.all():
                held[ticket_id].append(reminder_id)
        return held

    async def write(self, writes: SweepWrites) -> None:
        if writes.reminders:
            await self.session.execute(insert(REMINDERS), writes.reminders)
        if writes.events:
            await self.session.execute(insert(EVENTS), writes.events)
        if writes.tickets:
            await self.session.execute(
                _UPDATE_TICKET,
                [{"b_id": t.id, **{f"b_{name}": getattr(t, name) for name in WRITTEN}} for t in writes.tickets],
            )
        if writes.settled:
            await self.session.execute(
                _SETTLE_REMINDER, [{"b_id": rid, "b_status": status} for rid, status in writes.settled]
            )
