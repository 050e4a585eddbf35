"""Escalation one level up the grid: the next level is told, the assignee stays accountable.

The deadline sweep (handlers/deadlines.py) and the 升级 command both find the next level with
``escalation_step``, so they agree on what "one level up" means, however deep the grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from handlers.lifecycle import Action, apply
from storage.models import Person, Ticket, Unit
from storage.org_repo import OrgRepo
from storage.ticket_repo import TicketRepo


def escalation_step(
    chain: Sequence[str], assignee_unit: str | None, level: int, serving: Callable[[str], Sequence[Person]]
) -> tuple[int, str, Sequence[Person]] | None:
    """(new escalation level, unit id, people) of the first level above the ticket's current one that has
    someone serving it; levels with nobody are skipped and counted. ``chain`` is nearest first."""
    base = chain.index(assignee_unit) if assignee_unit in chain else 0
    for index in range(base + level + 1, len(chain)):
        people = serving(chain[index])
        if people:
            return index - base, chain[index], people
    return None


@dataclass(frozen=True)
class Escalation:
    level: Unit
    people: tuple[Person, ...]


async def escalate(
    org: OrgRepo, tickets: TicketRepo, ticket: Ticket, *, actor: str, at: datetime, note: str = ""
) -> Escalation | None:
    """Escalate one level; None (and nothing changed) when there is no level above."""
    chain = await org.chain(ticket.unit_id)
    serving = {unit.id: tuple(await org.responsible(unit.id)) for unit in chain}
    assignee = await org.person(ticket.assignee_id) if ticket.assignee_id else None
    step = escalation_step(
        [u.id for u in chain], assignee.unit_id if assignee else None, ticket.escalation_level, serving.__getitem__
    )
    if step is None:
        return None
    level, unit_id, people = step
    await apply(tickets, ticket, Action.ESCALATE, actor=actor, at=at, note=note or f"-> {unit_id}")
    ticket.escalation_level = level
    unit = next(u for u in chain if u.id == unit_id)
    return Escalation(unit, tuple(people))
