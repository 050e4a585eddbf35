"""Read-only queries behind the desk and the APIs: one page of tickets, one ticket's record, figures.

Every query is limited by a ``Visible`` (a user's scope on the grid), so no caller can forget it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    UNFINISHED_STATES,
    CoUnit,
    Message,
    OutboxItem,
    Person,
    PointEntry,
    Rating,
    Ticket,
    TicketEvent,
    TicketReminder,
    Unit,
)

MAX_PER_PAGE = 100
FLAGS = ("urgent", "check", "attention")
"""``urgent``: the classifier said urgent; ``check``: it asked someone to look now (``"check": true`` in
the decision); ``attention``: either."""


@dataclass(frozen=True)
class Visible:
    """Which tickets a user may see: one community, and within it some units (None: all) or their own."""

    community_id: str
    unit_ids: frozenset[str] | None
    person_id: str

    def clause(self) -> ColumnElement[bool]:
        if self.unit_ids is None:
            return Ticket.community_id == self.community_id
        return and_(
            Ticket.community_id == self.community_id,
            or_(Ticket.unit_id.in_(sorted(self.unit_ids)), Ticket.assignee_id == self.person_id),
        )


@dataclass(frozen=True)
class TicketQuery:
    units: frozenset[str] | None = None
    """Only tickets of these units (an estate's subtree, or one building)."""
    states: tuple[str, ...] = ()
    kind: str | None = None
    domain: str | None = None
    overdue_at: datetime | None = None
    flag: str | None = None
    text: str = ""
    page: int = 1
    per_page: int = 50
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    ids: tuple[int, ...] = ()


@dataclass
class TicketPage:
    tickets: Sequence[Ticket]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: Any, text: str, dialect: str) -> ColumnElement[bool]:
    """Substring test, the fastest way each backend has: instr() on SQLite, strpos() on PostgreSQL
    (both compare code points, no wildcards to escape), LIKE elsewhere."""
    if dialect == "sqlite":
        found: ColumnElement[bool] = func.instr(column, text) > 0
    elif dialect == "postgresql":
        found = func.strpos(column, text) > 0
    else:
        found = column.like(_like(text), escape="\\")
    return found


def check_flag() -> ColumnElement[bool]:
    flag: ColumnElement[bool] = Ticket.decision["check"].as_boolean().is_(True)
    return flag


def _filters(visible: Visible, query: TicketQuery, dialect: str = "") -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [visible.clause()]
    if query.units is not None:
        where.append(Ticket.unit_id.in_(sorted(query.units)))
    if query.states:
        where.append(Ticket.state.in_(query.states))
    if query.kind:
        where.append(Ticket.kind == query.kind)
    if query.domain:
        where.append(Ticket.domain == query.domain)
    if query.overdue_at is not None:
        where.append(and_(Ticket.sla_deadline_at < query.overdue_at, Ticket.state.in_(UNFINISHED_STATES)))
    if query.flag == "urgent":
        where.append(Ticket.urgent.is_(True))
    elif query.flag == "check":
        where.append(check_flag())
    elif query.flag == "attention":
        where.append(or_(Ticket.urgent.is_(True), check_flag()))
    if query.opened_from is not None:
        where.append(Ticket.opened_at >= query.opened_from)
    if query.opened_to is not None:
        where.append(Ticket.opened_at < query.opened_to)
    if query.ids:
        where.append(Ticket.id.in_(query.ids))
    text = query.text.strip()
    if text:
        # One pass over the messages, then a semi-join (a correlated EXISTS would probe them once per ticket).
        said = Ticket.id.in_(
            select(Message.ticket_id).where(Message.ticket_id.is_not(None), _contains(Message.text, text, dialect))
        )
        matches: list[ColumnElement[bool]] = [
            _contains(Ticket.summary, text, dialect),
            _contains(Ticket.resolution_note, text, dialect),
            said,
        ]
        number = text.lstrip("#")
        if number.isdigit() and len(number) < 10:
            matches.append(Ticket.id == int(number))
        where.append(or_(*matches))
    return where


class DeskQuery:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _dialect(self) -> str:
        bind = self.session.bind
        return bind.dialect.name if bind is not None else ""

    async def page(self, visible: Visible, query: TicketQuery) -> TicketPage:
        where = _filters(visible, query, self._dialect())
        per_page = max(1, min(query.per_page, MAX_PER_PAGE))
        page = max(1, query.page)
        offset = (page - 1) * per_page
        if query.text.strip():
            # A text search reads every row once: take the matching ids in one pass, count and page them here.
            ids = (await self.session.scalars(select(Ticket.id).where(*where).order_by(Ticket.id.desc()))).all()
            wanted = ids[offset : offset + per_page]
            rows = await self.session.scalars(select(Ticket).where(Ticket.id.in_(wanted)).order_by(Ticket.id.desc()))
            return TicketPage(rows.all(), len(ids), page, per_page)
        total = int(await self.session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0)
        rows = await self.session.scalars(
            select(Ticket).where(*where).order_by(Ticket.id.desc()).limit(per_page).offset(offset)
        )
        return TicketPage(rows.all(), total, page, per_page)

    async def newest(self, visible: Visible, query: TicketQuery, limit: int) -> Sequence[Ticket]:
        """Up to ``limit`` matching tickets, newest first, without counting them (Open311's lists)."""
        rows = await self.session.scalars(
            select(Ticket).where(*_filters(visible, query, self._dialect())).order_by(Ticket.id.desc()).limit(limit)
        )
        return rows.all()

    async def communities(self) -> Sequence[Unit]:
        rows = await self.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))
        return rows.all()

    async def ticket(self, visible: Visible, ticket_id: int) -> Ticket | None:
        return await self.session.scalar(select(Ticket).where(visible.clause(), Ticket.id == ticket_id))

    async def events(self, ticket_id: int) -> Sequence[TicketEvent]:
        rows = await self.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.at, TicketEvent.id)
        )
        return rows.all()

    async def messages(self, ticket_id: int) -> Sequence[Message]:
        rows = await self.session.scalars(
            select(Message).where(Message.ticket_id == ticket_id).order_by(Message.sent_at, Message.id)
        )
        return rows.all()

    async def reminders(self, ticket_id: int) -> Sequence[TicketReminder]:
        rows = await self.session.scalars(
            select(TicketReminder).where(TicketReminder.ticket_id == ticket_id).order_by(TicketReminder.id)
        )
        return rows.all()

    async def said(self, ticket_id: int) -> Sequence[OutboxItem]:
        rows = await self.session.scalars(
            select(OutboxItem).where(OutboxItem.ticket_id == ticket_id).order_by(OutboxItem.id)
        )
        return rows.all()

    async def ratings(self, ticket_id: int) -> Sequence[Rating]:
        rows = await self.session.scalars(select(Rating).where(Rating.ticket_id == ticket_id).order_by(Rating.id))
        return rows.all()

    async def units(self, community_id: str) -> Sequence[Unit]:
        rows = await self.session.scalars(
            select(Unit).where(Unit.community_id == community_id).order_by(Unit.depth, Unit.id)
        )
        return rows.all()

    async def people(self, ids: Sequence[str]) -> dict[str, Person]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Person).where(Person.id.in_(sorted(set(ids)))))
        return {p.id: p for p in rows.all()}

    async def staff(self, community_id: str) -> Sequence[Person]:
        """Active non-residents of the community: whom a ticket may be given to."""
        rows = await self.session.scalars(
            select(Person)
            .join(Unit, Unit.id == Person.unit_id)
            .where(Unit.community_id == community_id, Person.active.is_(True), Person.role != "resident")
            .order_by(Unit.depth, Person.unit_id, Person.id)
        )
        return rows.all()

    async def co_units(self, community_id: str) -> Sequence[CoUnit]:
        rows = await self.session.scalars(select(CoUnit).where(CoUnit.community_id == community_id).order_by(CoUnit.id))
        return rows.all()

    async def open_by_domain(self, visible: Visible) -> list[tuple[str, int]]:
        rows = await self.session.execute(
            select(Ticket.domain, func.count())
            .where(visible.clause(), Ticket.state.in_(UNFINISHED_STATES))
            .group_by(Ticket.domain)
            .order_by(func.count().desc(), Ticket.domain)
        )
        return [(domain, int(n)) for domain, n in rows.all()]

    async def services(self, visible: Visible) -> Sequence[Ticket]:
        rows = await self.session.scalars(
            select(Ticket).where(visible.clause(), Ticket.co_unit_id.is_not(None)).order_by(Ticket.id.desc())
        )
        return rows.all()

    async def points(self, community_id: str, unit_ids: frozenset[str] | None) -> list[dict[str, Any]]:
        """楼长积分 of the people in these units (None: the whole community), highest first."""
        query = (
            select(Person.id, Person.name, Person.unit_id, PointEntry.reason, func.sum(PointEntry.points), func.count())
            .join(Person, Person.id == PointEntry.person_id)
            .join(Unit, Unit.id == Person.unit_id)
            .where(Unit.community_id == community_id)
            .group_by(Person.id, Person.name, Person.unit_id, PointEntry.reason)
        )
        if unit_ids is not None:
            query = query.where(Person.unit_id.in_(sorted(unit_ids)))
        board: dict[str, dict[str, Any]] = {}
        for person_id, name, unit_id, reason, total, count in (await self.session.execute(query)).all():
            entry = board.setdefault(
                person_id, {"id": person_id, "name": name, "unit": unit_id, "points": 0, "by_reason": {}}
            )
            entry["points"] += int(total or 0)
            entry["by_reason"][reason] = {"points": int(total or 0), "count": int(count)}
        return sorted(board.values(), key=lambda e: (-e["points"], e["name"]))

    async def timeline(self, visible: Visible, since: datetime) -> Sequence[Any]:
        """(domain, opened_at, accepted_at, resolved_at) of the tickets opened since then, for the charts."""
        rows = await self.session.execute(
            select(Ticket.domain, Ticket.opened_at, Ticket.accepted_at, Ticket.resolved_at)
            .where(visible.clause(), Ticket.opened_at >= since)
            .order_by(Ticket.opened_at)
        )
        return rows.all()

    async def resolved_since(self, visible: Visible, since: datetime) -> Sequence[datetime]:
        rows = await self.session.scalars(
            select(Ticket.resolved_at).where(visible.clause(), Ticket.resolved_at >= since)
        )
        return [r for r in rows.all() if r is not None]


def visible_all(community_id: str) -> Visible:
    """Everything in one community (the CLI and the bench use it; the web always uses a user's scope)."""
    return Visible(community_id, None, "")
