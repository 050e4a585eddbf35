"""Tickets, their reporters and their append-only history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from storage.models import UNFINISHED_STATES, Ticket, TicketEvent, TicketReporter, TicketState
from storage.write_lock import lock_before_reading

EVENTS = cast(Table, TicketEvent.__table__)
TICKETS = cast(Table, Ticket.__table__)
_INSERT_EVENT = insert(EVENTS)
_INSERT_REPORTER = insert(cast(Table, TicketReporter.__table__))
_OPEN = insert(TICKETS).returning(TICKETS.c.id)
NEW_TICKET = {
    column.key: column.default.arg if isinstance(column.default, ScalarElementColumnDefault) else None
    for column in TICKETS.columns
    if column.key != "id"
}
"""Every column of a new ticket, as the model's scalar defaults make it: the row is written from these and
the ticket object holds exactly what was written."""
COUNT_CAP = 1_000
"""A long list is counted up to this many: enough to say how much is left, without reading all of it."""


@dataclass(frozen=True)
class TicketFilter:
    community_id: str | None = None
    unit_ids: Sequence[str] | None = None
    states: Sequence[str] | None = None
    kind: str | None = None
    overdue_at: datetime | None = None
    """Only unfinished tickets whose current deadline had passed at this time."""


@dataclass(frozen=True)
class Page:
    """The first tickets of a list and how long the list is (counted up to ``COUNT_CAP``)."""

    tickets: Sequence[Ticket]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.tickets))

    @property
    def at_least(self) -> bool:
        """The list is longer than it was counted."""
        return self.total >= COUNT_CAP


MERGE_CANDIDATES = (
    select(Ticket.id, Ticket.summary, Ticket.urgent, Ticket.check_state)
    .where(
        Ticket.unit_id == bindparam("unit_id"),
        Ticket.domain == bindparam("domain"),
        Ticket.opened_at >= bindparam("since"),
        Ticket.state.in_(UNFINISHED_STATES),
    )
    .order_by(Ticket.id)
)
"""Built once: a report's query is then only a cache lookup, not a new expression tree to build and key."""


@dataclass(frozen=True)
class MergeCandidate:
    """An unfinished ticket a new report may join: what the comparison and the alarm check read."""

    id: int
    summary: str
    urgent: bool
    check_state: str | None


class TicketRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _page(self, query: Select[Ticket], limit: int) -> Page:
        tickets = (await self.session.scalars(query.limit(limit))).all()
        if len(tickets) < limit:
            return Page(tickets, len(tickets))
        counted = query.with_only_columns(Ticket.id).order_by(None).limit(COUNT_CAP).subquery()
        total = await self.session.scalar(select(func.count()).select_from(counted))
        return Page(tickets, int(total or 0))

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
        council_pending: bool = False,
    ) -> Ticket:
        values = {
            **NEW_TICKET,
            "community_id": community_id,
            "unit_id": unit_id,
            "platform": platform,
            "chat_id": chat_id,
            "kind": kind,
            "urgent": urgent,
            "domain": domain,
            "summary": summary,
            "decision": decision,
            "assignee_id": assignee_id,
            "opened_at": opened_at,
            "council_pending": council_pending,
            # Written in the state it ends in (assigned when someone serves the unit), with the history of
            # both steps: one INSERT, not an INSERT and an UPDATE.
            "state": TicketState.OPEN if assignee_id is None else TicketState.ASSIGNED,
            "sla_due_at": opened_at,
        }
        # One INSERT that returns the number, for the history and for whoever is told about it; the object
        # joins the session as if it had been read back (a flush of the ORM's would also write whatever
        # else is pending, one statement each).
        ticket_id = (await self.session.execute(_OPEN, values)).scalar_one()
        ticket = Ticket(id=ticket_id, reporters=[], **values)
        make_transient_to_detached(ticket)
        self.session.add(ticket)
        opened = {"actor": actor, "action": "open", "from_state": None, "to_state": TicketState.OPEN, "note": ""}
        events = [opened]
        if assignee_id is not None:
            events.append(
                {
                    "actor": "linli",
                    "action": "assign",
                    "from_state": TicketState.OPEN,
                    "to_state": TicketState.ASSIGNED,
                    "note": assignee_id,
                }
            )
        # One statement for both (the ORM would insert them one by one to learn ids nobody needs).
        await self.session.execute(_INSERT_EVENT, [{"ticket_id": ticket.id, "at": opened_at, **e} for e in events])
        return ticket

    async def transition(
        self, ticket: Ticket, to_state: TicketState, *, actor: str, action: str, at: datetime, note: str = ""
    ) -> None:
        """Move the ticket and record it (the history entry now, the ticket's change with the next flush)."""
        await self._event(ticket, to_state, actor=actor, action=action, at=at, note=note)
        ticket.state = to_state
        ticket.sla_due_at = at  # a state change starts or stops a deadline clock: the next sweep looks again

    async def note(self, ticket: Ticket, *, actor: str, action: str, at: datetime, note: str = "") -> None:
        """A history entry that does not change the state (an attachment, a reminder)."""
        await self._event(ticket, TicketState(ticket.state), actor=actor, action=action, at=at, note=note)

    async def _event(
        self, ticket: Ticket, to_state: TicketState, *, actor: str, action: str, at: datetime, note: str
    ) -> None:
        """One history entry, written at once by a statement built once (the ORM would write each alone, with
        a unit-of-work pass, to learn an id nobody reads)."""
        await self.session.execute(
            _INSERT_EVENT,
            {
                "ticket_id": ticket.id,
                "at": at,
                "actor": actor,
                "action": action,
                "from_state": ticket.state,
                "to_state": to_state,
                "note": note,
            },
        )

    async def add_reporter(
        self, ticket: Ticket, *, platform: str, sender_id: str, sender_name: str, person_id: str | None, at: datetime
    ) -> bool:
        """Add a reporter; False if this sender already reported the ticket (its reporters are loaded with it).

        Written at once by a statement built once, and put in the ticket's reporters as if read back (the ORM
        would flush it alone, with a unit-of-work pass, before the next statement)."""
        if any(r.platform == platform and r.sender_id == sender_id for r in ticket.reporters):
            return False
        values = {
            "ticket_id": ticket.id,
            "platform": platform,
            "sender_id": sender_id,
            "sender_name": sender_name,
            "person_id": person_id,
            "reported_at": at,
        }
        await self.session.execute(_INSERT_REPORTER, values)
        reporter = TicketReporter(**values)
        make_transient_to_detached(reporter)
        self.session.add(reporter)
        set_committed_value(reporter, "ticket", ticket)
        set_committed_value(ticket, "reporters", [*ticket.reporters, reporter])
        return True

    async def remove_reporter(self, ticket: Ticket, *, platform: str, sender_id: str) -> None:
        reporter = await self.session.get(TicketReporter, (ticket.id, platform, sender_id))
        if reporter is not None:
            await self.session.delete(reporter)
            await self.session.flush()
            await self.session.refresh(ticket, ["reporters"])

    async def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        """The ticket; ``for_update`` locks its row until the transaction ends (the whole database on SQLite:
        storage.write_lock), so that two writers of one ticket take turns instead of overwriting each other."""
        if for_update:
            await lock_before_reading(self.session)
            return await self.session.get(Ticket, ticket_id, with_for_update=True, populate_existing=True)
        return await self.session.get(Ticket, ticket_id)

    async def merge_candidates(self, unit_id: str, domain: str, since: datetime) -> Sequence[MergeCandidate]:
        """The unit's unfinished tickets of one service area opened since ``since``, with only what a new
        report is compared with (summary and alarm), read through ``ix_tickets_merge``."""
        rows = await self.session.execute(MERGE_CANDIDATES, {"unit_id": unit_id, "domain": domain, "since": since})
        return [MergeCandidate(int(tid), str(summary), bool(urgent), check) for tid, summary, urgent, check in rows]

    async def assigned_open(self, person_id: str, states: Sequence[str], limit: int) -> Page:
        """The first ``limit`` tickets assigned to a person in ``states``, oldest first, and how many there are."""
        query = select(Ticket).where(Ticket.assignee_id == person_id, Ticket.state.in_(states)).order_by(Ticket.id)
        return await self._page(query, limit)

    async def escalated_in(self, unit_ids: Sequence[str], limit: int, *, besides: Sequence[int] = ()) -> Page:
        """The first ``limit`` escalated tickets of ``unit_ids`` (other than ``besides``), oldest first."""
        query = select(Ticket).where(Ticket.unit_id.in_(unit_ids), Ticket.state == TicketState.ESCALATED)
        if besides:
            query = query.where(Ticket.id.not_in(besides))
        return await self._page(query.order_by(Ticket.id), limit)

    async def recent_report(
        self, platform: str, sender_id: str, chat_id: str, since: datetime, until: datetime
    ) -> Ticket | None:
        """The newest ticket the sender reported in ``chat_id`` between ``since`` and ``until``."""
        return await self.session.scalar(
            select(Ticket)
            .join(TicketReporter)
            .where(
                TicketReporter.platform == platform,
                TicketReporter.sender_id == sender_id,
                TicketReporter.reported_at >= since,
                TicketReporter.reported_at <= until,
                Ticket.chat_id == chat_id,
            )
            .order_by(Ticket.id.desc())
            .limit(1)
        )

    async def events(self, ticket_id: int) -> Sequence[TicketEvent]:
        rows = await self.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )
        return rows.all()

    async def reported_by(
        self, platform: str, sender_id: str, states: Sequence[str] | None = None, limit: int | None = None
    ) -> Sequence[Ticket]:
        query = (
            select(Ticket)
            .join(TicketReporter)
            .where(TicketReporter.platform == platform, TicketReporter.sender_id == sender_id)
            .order_by(Ticket.id)
        )
        if states is not None:
            query = query.where(Ticket.state.in_(states))
        if limit is not None:
            query = query.limit(limit)
        return (await self.session.scalars(query)).all()

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
