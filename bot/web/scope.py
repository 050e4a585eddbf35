"""What a desk user may see: their person's place on the grid and everything below it.

A building leader sees their building, a branch secretary their estate, the committee their whole
community (however deep the grid); anyone also sees the tickets assigned to them. Everything else is
"not found", so that an id changed in a URL tells nothing about another community.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.desk_query import Visible
from storage.desk_repo import Login
from storage.models import Role, Ticket, Unit
from storage.org_repo import OrgRepo


@dataclass(frozen=True)
class Scope:
    user: str
    person_id: str
    person_name: str
    role: str
    unit_id: str
    unit_name: str
    community_id: str
    community_name: str
    unit_ids: frozenset[str]
    """The person's unit and every unit below it."""
    whole_community: bool

    def sees_unit(self, unit_id: str) -> bool:
        return unit_id in self.unit_ids

    def sees(self, ticket: Ticket) -> bool:
        return ticket.community_id == self.community_id and (
            self.whole_community or ticket.unit_id in self.unit_ids or ticket.assignee_id == self.person_id
        )

    @property
    def visible(self) -> Visible:
        """The same test as ``sees``, for the queries."""
        return Visible(self.community_id, None if self.whole_community else self.unit_ids, self.person_id)


async def scope_of(session: AsyncSession, login: Login) -> Scope | None:
    """None for a person who is not on the grid as staff (a resident, or a unit that has gone)."""
    person = login.person
    if person.role == Role.RESIDENT:
        return None
    org = OrgRepo(session)
    unit = await org.unit(person.unit_id)
    if unit is None:
        return None
    community: Unit | None = await org.unit(unit.community_id)
    return Scope(
        user=login.user.name,
        person_id=person.id,
        person_name=person.name,
        role=person.role,
        unit_id=unit.id,
        unit_name=unit.name,
        community_id=unit.community_id,
        community_name=community.name if community is not None else unit.community_id,
        unit_ids=frozenset(await org.subtree(unit.id)),
        whole_community=unit.parent_id is None,
    )
