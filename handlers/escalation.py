"""Escalation one level up the grid: the next level is told, the assignee stays accountable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.lifecycle import Action, apply
from storage.models import Person, Ticket, Unit
from storage.org_repo import OrgRepo
from storage.ticket_repo import TicketRepo


@dataclass(frozen=True)
class Escalation:
    level: Unit
    people: tuple[Person, ...]


async def next_level(org: OrgRepo, ticket: Ticket) -> Escalation | None:
    """The first level above the ticket's current one that has someone serving it."""
    chain = await org.chain(ticket.unit_id)
    assignee = await org.person(ticket.assignee_id) if ticket.assignee_id else None
    base = next((i for i, unit in enumerate(chain) if assignee and unit.id == assignee.unit_id), 0)
    for unit in chain[base + ticket.escalation_level + 1 :]:
        people = tuple(await org.responsible(unit.id))
        if people:
            return Escalation(unit, people)
    return None


async def escalate(
    org: OrgRepo, tickets: TicketRepo, ticket: Ticket, *, actor: str, at: datetime, note: str = ""
) -> Escalation | None:
    """Escalate one level; None (and nothing changed) when there is no level above."""
    target = await next_level(org, ticket)
    if target is None:
        return None
    # Skip levels with nobody serving them, so the count matches the level actually told.
    chain = [u.id for u in await org.chain(ticket.unit_id)]
    assignee = await org.person(ticket.assignee_id) if ticket.assignee_id else None
    base = chain.index(assignee.unit_id) if assignee and assignee.unit_id in chain else 0
    jump = chain.index(target.level.id) - base - ticket.escalation_level
    await apply(tickets, ticket, Action.ESCALATE, actor=actor, at=at, note=note or f"-> {target.level.id}")
    ticket.escalation_level += jump - 1
    return target
