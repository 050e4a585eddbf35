"""Who may act on a council matter, who must hear of it, and which groups it is published in.

A role in the council settings is either an org role (``committee``, ``branch_secretary``…) or a council
role the org file gives people (``party_meeting``, ``representatives``). An org role counts for a matter
when the person serves the matter's unit or a unit above it (the estate's branch, the community's
committee); a council role counts anywhere in the matter's community.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.context import Scope
from storage.household_repo import HouseholdRepo
from storage.models import ChatGroup, Message, Person


def local(scope: Scope, moment: datetime) -> datetime:
    """``moment`` on the community's clock, for saying it to people."""
    return moment.astimezone(ZoneInfo(scope.settings.timezone))


async def _qualifies(
    scope: Scope,
    person: Person,
    council_roles: set[str],
    unit_id: str,
    roles: Collection[str],
    below: Collection[str] = (),
) -> bool:
    if not person.active:
        return False
    chain = [u.id for u in await scope.org.chain(unit_id)]
    if person.role in roles and (person.unit_id in chain or person.unit_id in below):
        return True
    if council_roles & set(roles):
        own = await scope.org.unit(person.unit_id)
        return own is not None and bool(chain) and own.community_id == chain[-1]
    return False


async def may_act(scope: Scope, person: Person | None, unit_id: str, roles: Collection[str]) -> bool:
    """Whether ``person`` holds one of ``roles`` for a matter of ``unit_id``."""
    if person is None:
        return False
    council_roles = await HouseholdRepo(scope.session).council_roles(person.id)
    return await _qualifies(scope, person, council_roles, unit_id, roles)


async def has_council_standing(scope: Scope, person: Person | None) -> bool:
    """Whether ``person`` serves on the grid or holds a council role: someone council commands are for."""
    if person is None or not person.active:
        return False
    return person.role != "resident" or bool(await HouseholdRepo(scope.session).council_roles(person.id))


async def on_council(scope: Scope, person: Person | None) -> bool:
    """Whether ``person`` holds a role the settings name for any step of the council or for starting votes."""
    if person is None or not person.active:
        return False
    council = scope.settings.council
    named = {role for step in type(council.may_record).model_fields for role in council.may_record.roles(step)}
    named |= set(council.votes.may_start)
    return person.role in named or bool(await HouseholdRepo(scope.session).council_roles(person.id) & named)


async def people_for(scope: Scope, unit_id: str, roles: Collection[str], *, below: bool = False) -> list[Person]:
    """Everyone holding one of ``roles`` for a matter of ``unit_id`` (``below``: or serving a unit under it)."""
    under = set(await scope.org.subtree(unit_id)) if below else set()
    found = []
    for person, council_roles in await HouseholdRepo(scope.session).people_with_roles(roles):
        if await _qualifies(scope, person, council_roles, unit_id, roles, under):
            found.append(person)
    return found


async def groups_under(scope: Scope, unit_id: str) -> Sequence[ChatGroup]:
    """The groups bound to ``unit_id`` or any unit below it: where a matter of that unit is published."""
    units = set(await scope.org.subtree(unit_id))
    return [g for g in await scope.org.all_groups() if g.unit_id in units]


async def home_units(scope: Scope, platform: str, sender_id: str, person: Person | None) -> list[str]:
    """The units a sender belongs to, most telling first: their households' units and the unit the org gives
    them (if it lists them), then the units of the groups they have written in, latest first."""
    units: list[str] = []
    if person is not None:
        households = await HouseholdRepo(scope.session).of_person(person.id)
        units += [h.unit_id for h in households]
        units.append(person.unit_id)
    last = func.max(Message.sent_at)
    rows = await scope.session.execute(
        select(ChatGroup.unit_id, last)
        .join(Message, (Message.platform == ChatGroup.platform) & (Message.chat_id == ChatGroup.chat_id))
        .where(Message.platform == platform, Message.sender_id == sender_id, ChatGroup.unit_id.is_not(None))
        .group_by(ChatGroup.unit_id)
        .order_by(last.desc())
    )
    units += [unit_id for unit_id, _ in rows.all() if unit_id is not None]
    return list(dict.fromkeys(units))
