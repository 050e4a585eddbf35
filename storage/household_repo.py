"""Households and council roles: imported with the org, read by votes and the council."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.org_file import OrgSpec
from storage.council_models import CouncilRole, Household, HouseholdMember
from storage.models import Person


class HouseholdRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def import_spec(self, spec: OrgSpec) -> int:
        """Make households, their members and council roles match the file; households left out are retired."""
        s = self.session
        existing = {h.id: h for h in (await s.scalars(select(Household))).all()}
        listed = {h.id for h in spec.households}
        for household in spec.households:
            row = existing.get(household.id) or Household(id=household.id)
            row.unit_id, row.room, row.owner, row.active = household.unit_id, household.room, household.owner, True
            s.add(row)
        for household_id, row in existing.items():
            if household_id not in listed:
                row.active = False
        await s.flush()
        await s.execute(delete(HouseholdMember))
        await s.execute(delete(CouncilRole))
        s.add_all(HouseholdMember(household_id=h.id, person_id=m) for h in spec.households for m in h.members)
        s.add_all(CouncilRole(person_id=p.id, role=role) for p in spec.people for role in p.council_roles)
        await s.flush()
        return len(spec.households)

    async def get(self, household_id: str) -> Household | None:
        return await self.session.get(Household, household_id)

    async def count(self, unit_ids: Collection[str], *, owners_only: bool = False) -> int:
        """Active households in these units (owner households only, if asked)."""
        query = (
            select(func.count())
            .select_from(Household)
            .where(Household.unit_id.in_(list(unit_ids)), Household.active.is_(True))
        )
        if owners_only:
            query = query.where(Household.owner.is_(True))
        return int(await self.session.scalar(query) or 0)

    async def of_person(self, person_id: str, unit_ids: Collection[str] | None = None) -> Sequence[Household]:
        """The active households the person is a member of (in these units, if given)."""
        query = (
            select(Household)
            .join(HouseholdMember, HouseholdMember.household_id == Household.id)
            .where(HouseholdMember.person_id == person_id, Household.active.is_(True))
            .order_by(Household.id)
        )
        if unit_ids is not None:
            query = query.where(Household.unit_id.in_(list(unit_ids)))
        return (await self.session.scalars(query)).all()

    async def unmembered(self, unit_ids: Collection[str]) -> int:
        """Active households in these units with no members listed (their residents vote by naming the room)."""
        listed = select(HouseholdMember.household_id).scalar_subquery()
        query = (
            select(func.count())
            .select_from(Household)
            .where(Household.unit_id.in_(list(unit_ids)), Household.active.is_(True), Household.id.not_in(listed))
        )
        return int(await self.session.scalar(query) or 0)

    async def members(self, household_id: str) -> set[str]:
        rows = await self.session.scalars(
            select(HouseholdMember.person_id).where(HouseholdMember.household_id == household_id)
        )
        return set(rows.all())

    async def all(self) -> Sequence[Household]:
        return (await self.session.scalars(select(Household).order_by(Household.id))).all()

    async def all_members(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        rows = await self.session.execute(
            select(HouseholdMember.household_id, HouseholdMember.person_id).order_by(HouseholdMember.person_id)
        )
        for household_id, person_id in rows.all():
            found.setdefault(household_id, []).append(person_id)
        return found

    async def council_roles(self, person_id: str) -> set[str]:
        rows = await self.session.scalars(select(CouncilRole.role).where(CouncilRole.person_id == person_id))
        return set(rows.all())

    async def people_with_roles(self, roles: Collection[str]) -> Sequence[tuple[Person, set[str]]]:
        """Active people holding any of ``roles``, as an org role or a council role, with their council roles."""
        council: dict[str, set[str]] = {}
        for person_id, role in (await self.session.execute(select(CouncilRole.person_id, CouncilRole.role))).all():
            council.setdefault(person_id, set()).add(role)
        people = await self.session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.id))
        return [
            (p, council.get(p.id, set()))
            for p in people.all()
            if p.role in roles or council.get(p.id, set()) & set(roles)
        ]
