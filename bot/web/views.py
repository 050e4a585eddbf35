"""The desk's and the API's data, as plain dicts: one shape for the templates and for JSON.

Every function takes the user's ``Scope`` and reads only through it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts.names import KIND_TITLES, ROLE_TITLES, state_title
from bot.web.filters import Filters
from bot.web.scope import Scope
from config.settings import Settings
from handlers.council import agenda as council_agenda
from storage.desk_query import DeskQuery, TicketQuery
from storage.models import UNFINISHED_STATES, Person, Ticket, Unit


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    deadline = ticket.sla_deadline_at
    return deadline is not None and deadline < now and ticket.state in UNFINISHED_STATES


def ticket_row(
    ticket: Ticket, units: dict[str, Unit], people: dict[str, Person], now: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    unit = units.get(ticket.unit_id)
    assignee = people.get(ticket.assignee_id or "")
    return {
        "id": ticket.id,
        "state": ticket.state,
        "state_title": state_title(ticket.state),
        "kind": ticket.kind,
        "kind_title": KIND_TITLES.get(ticket.kind, ticket.kind),
        "urgent": ticket.urgent,
        "check": bool((ticket.decision or {}).get("check", False)),
        "domain": ticket.domain,
        "unit": ticket.unit_id,
        "unit_name": unit.name if unit is not None else ticket.unit_id,
        "assignee": ticket.assignee_id,
        "assignee_name": assignee.name if assignee is not None else None,
        "summary": ticket.summary,
        "reporters": len(ticket.reporters),
        "opened_at": iso(ticket.opened_at, tz),
        "deadline_at": iso(ticket.sla_deadline_at, tz),
        "overdue": is_overdue(ticket, now),
        "escalation_level": ticket.escalation_level,
    }


async def _names(query: DeskQuery, scope: Scope, tickets: list[Ticket]) -> tuple[dict[str, Unit], dict[str, Person]]:
    units = {u.id: u for u in await query.units(scope.community_id)}
    people = await query.people([t.assignee_id for t in tickets if t.assignee_id])
    return units, people


async def ticket_page(
    session: AsyncSession, scope: Scope, filters: Filters, now: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    query = DeskQuery(session)
    page = await query.page(scope.visible, filters.query)
    tickets = list(page.tickets)
    units, people = await _names(query, scope, tickets)
    return {
        "tickets": [ticket_row(t, units, people, now, tz) for t in tickets],
        "total": page.total,
        "page": page.page,
        "pages": page.pages,
        "per_page": page.per_page,
    }


async def ticket_detail(
    session: AsyncSession, scope: Scope, ticket_id: int, now: datetime, tz: ZoneInfo
) -> dict[str, Any] | None:
    """The whole record of one ticket the user may see; None otherwise (whether or not it exists)."""
    query = DeskQuery(session)
    ticket = await query.ticket(scope.visible, ticket_id)
    if ticket is None:
        return None
    units, people = await _names(query, scope, [ticket])
    events = list(await query.events(ticket.id))
    actors = await query.people([e.actor for e in events])
    co_unit = next((c for c in await query.co_units(scope.community_id) if c.id == ticket.co_unit_id), None)
    return ticket_row(ticket, units, people, now, tz) | {
        "resolution_note": ticket.resolution_note,
        "decision": ticket.decision or {},
        "council_pending": ticket.council_pending,
        "co_unit": co_unit.name if co_unit is not None else None,
        "merged_into": ticket.merged_into,
        "accepted_at": iso(ticket.accepted_at, tz),
        "resolved_at": iso(ticket.resolved_at, tz),
        "closed_at": iso(ticket.closed_at, tz),
        "reporter_list": [
            {"name": r.sender_name or r.sender_id, "platform": r.platform, "at": iso(r.reported_at, tz)}
            for r in ticket.reporters
        ],
        "history": [
            {
                "at": iso(e.at, tz),
                "actor": e.actor,
                "actor_name": actors[e.actor].name if e.actor in actors else e.actor,
                "action": e.action,
                "from": e.from_state,
                "from_title": state_title(e.from_state) if e.from_state else None,
                "to": e.to_state,
                "to_title": state_title(e.to_state),
                "note": e.note,
            }
            for e in events
        ],
        "messages": [
            {
                "at": iso(m.sent_at, tz),
                "platform": m.platform,
                "chat": m.chat_name or m.chat_id,
                "sender": m.sender_name or m.sender_id,
                "text": m.text,
                "kind": m.kind,
            }
            for m in await query.messages(ticket.id)
        ],
        "said": [
            {
                "at": iso(o.created_at, tz),
                "kind": o.kind,
                "platform": o.platform,
                "to": o.chat_id if o.kind != "dm" else o.recipient,
                "text": o.text,
                "status": o.status,
            }
            for o in await query.said(ticket.id)
        ],
        "reminders": [
            {"action": r.action, "stage": r.stage, "level": r.level, "at": iso(r.at, tz), "status": r.status}
            for r in await query.reminders(ticket.id)
        ],
        "ratings": [{"score": r.score, "at": iso(r.at, tz)} for r in await query.ratings(ticket.id)],
    }


async def unit_options(session: AsyncSession, scope: Scope) -> dict[str, list[dict[str, str]]]:
    """The estates and buildings the user may filter by, for the form and the API."""
    units = [u for u in await DeskQuery(session).units(scope.community_id) if u.id in scope.unit_ids]
    return {
        "estates": [{"id": u.id, "name": u.name} for u in units if u.kind == "estate"],
        "buildings": [{"id": u.id, "name": u.name, "parent": u.parent_id or ""} for u in units if u.kind == "building"],
    }


async def agenda(session: AsyncSession, settings: Settings, scope: Scope, tz: ZoneInfo) -> list[dict[str, Any]]:
    items = await council_agenda(session, settings, scope.community_id)
    ids = tuple(i.ticket for i in items)
    visible = {t.id for t in (await DeskQuery(session).page(scope.visible, TicketQuery(ids=ids, per_page=100))).tickets}
    return [
        {
            "ticket": i.ticket,
            "summary": i.summary,
            "unit_name": i.unit,
            "state": i.state,
            "state_title": state_title(i.state),
            "opened_at": iso(i.opened_at, tz),
        }
        for i in items
        if i.ticket in visible
    ]


async def three_lists(session: AsyncSession, scope: Scope) -> dict[str, list[dict[str, Any]]]:
    """三单: needs (unfinished tickets by service area), resources (co-building units), services."""
    query = DeskQuery(session)
    co_units = list(await query.co_units(scope.community_id))
    names = {c.id: c.name for c in co_units}
    return {
        "needs": [{"domain": d, "open": n} for d, n in await query.open_by_domain(scope.visible)],
        "resources": [
            {"unit": c.name, "resource": str(r.get("name", "")), "domain": str(r.get("domain", ""))}
            for c in co_units
            for r in c.resources
        ],
        "services": [
            {
                "ticket": t.id,
                "unit": names.get(t.co_unit_id or "", t.co_unit_id or ""),
                "summary": t.summary,
                "state": t.state,
                "state_title": state_title(t.state),
            }
            for t in await query.services(scope.visible)
        ],
    }


async def leader_points(session: AsyncSession, scope: Scope) -> list[dict[str, Any]]:
    board = await DeskQuery(session).points(scope.community_id, None if scope.whole_community else scope.unit_ids)
    return [entry | {"rank": rank} for rank, entry in enumerate(board, 1)]


def who(scope: Scope) -> dict[str, Any]:
    return {
        "user": scope.user,
        "person": scope.person_id,
        "name": scope.person_name,
        "role": scope.role,
        "role_title": ROLE_TITLES.get(scope.role, scope.role),
        "unit": scope.unit_id,
        "unit_name": scope.unit_name,
        "community": scope.community_id,
        "community_name": scope.community_name,
    }
