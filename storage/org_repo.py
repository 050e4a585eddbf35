"""The organisation in the database: import from an OrgSpec, and the grid lookups routing needs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.org_file import OrgSpec
from storage.base import Base
from storage.household_repo import HouseholdRepo
from storage.keys import PairLookup
from storage.models import (
    UNFINISHED_STATES,
    ChatGroup,
    CoUnit,
    Identity,
    Message,
    OrgRevision,
    Person,
    Role,
    Ticket,
    Unit,
)


@dataclass
class Grid:
    """The org read once, for work over many tickets at a time: how units nest, who serves each, group names."""

    parent: dict[str, str | None]
    people: dict[str, Person]
    group_names: dict[tuple[str, str], str]
    serving: dict[str, list[Person]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for person in self.people.values():
            if person.active and person.role != Role.RESIDENT:
                self.serving[person.unit_id].append(person)

    def chain(self, unit_id: str) -> list[str]:
        """The unit and its ancestors, nearest first."""
        chain: list[str] = []
        current: str | None = unit_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parent.get(current)
        return chain

    def responsible(self, unit_id: str) -> Sequence[Person]:
        """Active non-resident people serving exactly this unit (as ``OrgRepo.responsible``)."""
        return self.serving.get(unit_id, [])


ORG_CACHE = "linli.org_cache"
_REVISION = select(OrgRevision.revision).where(OrgRevision.id == 1)
_GROUPS = PairLookup(select(ChatGroup), ChatGroup.platform, ChatGroup.chat_id)
_IDENTITIES = PairLookup(
    select(Identity.platform, Identity.user_id, Identity.person_id), Identity.platform, Identity.user_id
)
_CHECKED = "linli.org_checked"


@dataclass
class OrgCache:
    """Units, people and co-building units as read from the database, kept across transactions until the
    org's revision changes (an import raises it). The objects are detached from every session: they are
    read, never added to one or changed."""

    revision: int | None = None
    entries: dict[tuple[str, Any], Any] = field(default_factory=dict)

    def reset(self, revision: int | None) -> None:
        self.revision = revision
        self.entries.clear()


def shared_org_cache() -> dict[str, Any]:
    """Session ``info`` that makes every session of a factory share one ``OrgCache``."""
    return {ORG_CACHE: OrgCache()}


class OrgRepo:
    """The org as one transaction sees it. Units, people and co-building units come from the ``OrgCache``
    the session carries (one per process, checked against the org's revision once per transaction);
    groups and senders are remembered for the session, so a batch of messages reads each once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        cache = session.info.get(ORG_CACHE)
        if cache is None:
            cache = session.info[ORG_CACHE] = OrgCache()
        self.cache: OrgCache = cache

    def _memo(self, name: str) -> dict[Any, Any]:
        memo: dict[Any, Any] = self.session.info.setdefault(f"org.{name}", {})
        return memo

    def forget(self) -> None:
        for key in [k for k in self.session.info if str(k).startswith("org.")]:
            del self.session.info[key]
        self.session.info.pop(_CHECKED, None)
        self.cache.reset(None)

    async def _cached(self, kind: str, key: Any, load: Callable[[], Awaitable[Any]]) -> Any:
        if not self.session.info.get(_CHECKED):
            revision = await self.session.scalar(_REVISION)
            if revision != self.cache.revision:
                self.cache.reset(revision)
            self.session.info[_CHECKED] = True
        entry = (kind, key)
        if entry not in self.cache.entries:
            value = await load()
            for row in value if isinstance(value, tuple) else (value,):
                if isinstance(row, Base) and row in self.session:
                    self.session.expunge(row)
            self.cache.entries[entry] = value
        return self.cache.entries[entry]

    async def warm(self, chats: Iterable[tuple[str, str]], senders: Iterable[tuple[str, str]]) -> None:
        """Read these groups and senders in two queries, for the lookups that follow."""
        groups, people = self._memo("group"), self._memo("person")
        wanted_chats = {c for c in chats if c not in groups}
        if wanted_chats:
            rows = await self.session.scalars(*_GROUPS.of(wanted_chats))
            found = {(g.platform, g.chat_id): g for g in rows.all()}
            groups.update({chat: found.get(chat) for chat in wanted_chats})
        wanted_senders = {s for s in senders if s not in people}
        if wanted_senders:
            identities = await self.session.execute(*_IDENTITIES.of(wanted_senders))
            known = {(platform, user_id): person_id for platform, user_id, person_id in identities.all()}
            for sender in wanted_senders:
                person = await self.person(known[sender]) if sender in known else None
                people[sender] = person if person is not None and person.active else None

    async def import_spec(self, spec: OrgSpec) -> dict[str, int]:
        """Make the database match the file; idempotent. People and groups left out are retired, not deleted.
        Raises the org's revision, so that every process reads the org again."""
        self.forget()
        s = self.session
        revision = await s.get(OrgRevision, 1, with_for_update=True)
        if revision is None:
            s.add(OrgRevision(id=1, revision=1))
        else:
            revision.revision += 1
        existing_units = {u.id: u for u in (await s.scalars(select(Unit))).all()}
        # Parents first, so foreign keys hold on every backend.
        for unit in sorted(spec.units, key=lambda u: u.depth):
            unit_row = existing_units.get(unit.id) or Unit(id=unit.id)
            unit_row.kind, unit_row.name, unit_row.parent_id = unit.kind, unit.name, unit.parent_id
            unit_row.community_id, unit_row.depth = unit.community_id, unit.depth
            s.add(unit_row)
        await s.flush()

        people = {p.id: p for p in (await s.scalars(select(Person))).all()}
        listed = {p.id for p in spec.people}
        # One notion of a household: a person's own ``household`` key, else the listed household they live in.
        lives_in = {member: h.id for h in spec.households for member in h.members}
        for person in spec.people:
            row = people.get(person.id) or Person(id=person.id)
            row.name, row.role, row.unit_id, row.phone, row.household, row.active = (
                person.name,
                person.role,
                person.unit_id,
                person.phone,
                person.household or lives_in.get(person.id),
                True,
            )
            s.add(row)
        for person_id, row in people.items():
            if person_id not in listed:
                row.active = False
        await s.flush()

        wanted = {(platform, user_id): p.id for p in spec.people for platform, user_id in p.platform_ids.items()}
        for identity in (await s.scalars(select(Identity))).all():
            if wanted.get((identity.platform, identity.user_id)) != identity.person_id:
                await s.delete(identity)
        await s.flush()
        present = {(i.platform, i.user_id) for i in (await s.scalars(select(Identity))).all()}
        for (platform, user_id), person_id in wanted.items():
            if (platform, user_id) not in present:
                s.add(Identity(platform=platform, user_id=user_id, person_id=person_id))

        groups = {(g.platform, g.chat_id): g for g in (await s.scalars(select(ChatGroup))).all()}
        for group in spec.groups:
            group_row = groups.pop((group.platform, group.chat_id), None)
            group_row = group_row or ChatGroup(platform=group.platform, chat_id=group.chat_id)
            group_row.name, group_row.unit_id, group_row.bound_by_org = group.name, group.unit_id, True
            s.add(group_row)
        for group_row in groups.values():
            if group_row.bound_by_org:
                group_row.unit_id, group_row.bound_by_org = None, False

        co_units = {c.id: c for c in (await s.scalars(select(CoUnit))).all()}
        for co in spec.co_units:
            co_row = co_units.get(co.id) or CoUnit(id=co.id)
            co_row.name, co_row.community_id, co_row.contact_id = co.name, co.community_id, co.contact_id
            co_row.resources = [dict(r) for r in co.resources]
            s.add(co_row)
        await s.flush()
        households = await HouseholdRepo(s).import_spec(spec)
        return {
            "units": len(spec.units),
            "people": len(spec.people),
            "groups": len(spec.groups),
            "co_units": len(spec.co_units),
            "households": households,
        }

    async def group(self, platform: str, chat_id: str) -> ChatGroup | None:
        memo = self._memo("group")
        if (platform, chat_id) not in memo:
            memo[platform, chat_id] = await self.session.get(ChatGroup, (platform, chat_id))
        found: ChatGroup | None = memo[platform, chat_id]
        return found

    async def note_unknown_group(self, platform: str, chat_id: str, name: str, now: datetime) -> bool:
        """Remember a group the org does not know; True the first time it is seen."""
        if await self.group(platform, chat_id) is not None:
            return False
        group = ChatGroup(platform=platform, chat_id=chat_id, name=name, unit_id=None, first_seen_at=now)
        self.session.add(group)
        await self.session.flush()
        self._memo("group")[platform, chat_id] = group
        return True

    async def unit(self, unit_id: str) -> Unit | None:
        found: Unit | None = await self._cached("unit", unit_id, lambda: self.session.get(Unit, unit_id))
        return found

    async def chain(self, unit_id: str) -> list[Unit]:
        """The unit and its ancestors, nearest first: building, estate, community (or however deep)."""
        units: list[Unit] = []
        current = await self.unit(unit_id)
        while current is not None and current not in units:
            units.append(current)
            current = await self.unit(current.parent_id) if current.parent_id else None
        return units

    async def person_by_identity(self, platform: str, user_id: str) -> Person | None:
        memo = self._memo("person")
        if (platform, user_id) not in memo:
            identity = await self.session.get(Identity, (platform, user_id))
            person = await self.person(identity.person_id) if identity is not None else None
            memo[platform, user_id] = person if person is not None and person.active else None
        found: Person | None = memo[platform, user_id]
        return found

    async def person(self, person_id: str) -> Person | None:
        found: Person | None = await self._cached("person", person_id, lambda: self.session.get(Person, person_id))
        return found

    async def responsible(self, unit_id: str) -> Sequence[Person]:
        """Active non-resident people serving exactly this unit."""

        async def load() -> tuple[Person, ...]:
            rows = await self.session.scalars(
                select(Person)
                .where(Person.unit_id == unit_id, Person.active.is_(True), Person.role != Role.RESIDENT)
                .order_by(Person.id)
            )
            return tuple(rows.all())

        people: tuple[Person, ...] = await self._cached("responsible", unit_id, load)
        return people

    async def open_load(self, person_ids: Sequence[str]) -> dict[str, int]:
        rows = await self.session.execute(
            select(Ticket.assignee_id, func.count())
            .where(Ticket.assignee_id.in_(person_ids), Ticket.state.in_(UNFINISHED_STATES))
            .group_by(Ticket.assignee_id)
        )
        load = dict.fromkeys(person_ids, 0)
        for assignee, count in rows.all():
            if assignee is not None:
                load[assignee] = count
        return load

    async def grid(self) -> Grid:
        units = (await self.session.scalars(select(Unit))).all()
        people = (await self.session.scalars(select(Person).order_by(Person.id))).all()
        groups = (await self.session.scalars(select(ChatGroup))).all()
        return Grid(
            parent={u.id: u.parent_id for u in units},
            people={p.id: p for p in people},
            group_names={(g.platform, g.chat_id): g.name for g in groups},
        )

    async def subtree(self, unit_id: str) -> list[str]:
        """The unit and every unit below it, at any depth."""

        async def load() -> tuple[str, ...]:
            found = [unit_id]
            frontier = [unit_id]
            while frontier:
                rows = await self.session.scalars(select(Unit.id).where(Unit.parent_id.in_(frontier)))
                frontier = list(rows.all())
                found.extend(frontier)
            return tuple(found)

        return list(await self._cached("subtree", unit_id, load))

    async def co_units(self, community_id: str) -> Sequence[CoUnit]:
        """The community's co-building units (共建单位)."""

        async def load() -> tuple[CoUnit, ...]:
            rows = await self.session.scalars(select(CoUnit).where(CoUnit.community_id == community_id))
            return tuple(rows.all())

        units: tuple[CoUnit, ...] = await self._cached("co_units", community_id, load)
        return units

    async def units_in(self, community_id: str) -> Sequence[Unit]:
        rows = await self.session.scalars(select(Unit).where(Unit.community_id == community_id).order_by(Unit.depth))
        return rows.all()

    async def communities(self) -> Sequence[Unit]:
        return (await self.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))).all()

    async def all_groups(self) -> Sequence[ChatGroup]:
        rows = await self.session.scalars(select(ChatGroup).order_by(ChatGroup.platform, ChatGroup.chat_id))
        return rows.all()

    async def serving_named(self, name: str, community_id: str) -> Person | None:
        """The active non-resident person of the community with this name or id (the first, by id)."""
        return await self.session.scalar(
            select(Person)
            .join(Unit, Unit.id == Person.unit_id)
            .where(
                (Person.name == name) | (Person.id == name),
                Person.active.is_(True),
                Person.role != Role.RESIDENT,
                Unit.community_id == community_id,
            )
            .order_by(Person.id)
            .limit(1)
        )

    async def all_people(self, *, active_only: bool = True) -> Sequence[Person]:
        query = select(Person).order_by(Person.id)
        if active_only:
            query = query.where(Person.active.is_(True))
        return (await self.session.scalars(query)).all()

    async def unbound_groups(self) -> list[tuple[ChatGroup, int]]:
        counts = (
            select(Message.platform, Message.chat_id, func.count().label("n"))
            .group_by(Message.platform, Message.chat_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(ChatGroup, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, (counts.c.platform == ChatGroup.platform) & (counts.c.chat_id == ChatGroup.chat_id))
            .where(ChatGroup.unit_id.is_(None))
            .order_by(ChatGroup.platform, ChatGroup.chat_id)
        )
        return [(group, int(n)) for group, n in rows.all()]
