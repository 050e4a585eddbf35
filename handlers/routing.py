"""Who is accountable for a ticket and who else must hear of it, read from the grid in the database."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.message import DirectMessage, Topic
from storage.models import Person, Unit
from storage.org_repo import OrgRepo

PLATFORM_PREFERENCE = ("wecom", "wechaty", "sim", "console")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    assignee: Person | None
    assignee_unit: Unit | None
    above: tuple[tuple[Unit, tuple[Person, ...]], ...]
    """Every level above the assignee's, nearest first, with the people serving it."""


async def route(org: OrgRepo, unit_id: str) -> Route:
    """The least-loaded responsible person at the nearest level that has one, and the levels above."""
    chain = await org.chain(unit_id)
    for index, unit in enumerate(chain):
        people = await org.responsible(unit.id)
        if not people:
            continue
        load = await org.open_load([p.id for p in people])
        assignee = min(people, key=lambda p: (load[p.id], p.id))
        above = []
        for higher in chain[index + 1 :]:
            above.append((higher, tuple(await org.responsible(higher.id))))
        return Route(assignee, unit, tuple(above))
    return Route(None, None, ())


async def levels_above(
    org: OrgRepo, unit_id: str, assignee_unit: str | None
) -> tuple[tuple[Unit, tuple[Person, ...]], ...]:
    """Every level above the assignee's on the ticket's chain, nearest first, with the people serving it
    (the whole chain when the assignee serves none of it); levels nobody serves are left out."""
    chain = await org.chain(unit_id)
    ids = [unit.id for unit in chain]
    start = ids.index(assignee_unit) + 1 if assignee_unit in ids else 0
    levels = []
    for unit in chain[start:]:
        people = tuple(await org.responsible(unit.id))
        if people:
            levels.append((unit, people))
    return tuple(levels)


def address(person: Person, platform: str | None = None) -> tuple[str, str] | None:
    """(platform, user id) to reach a person: the conversation's platform if they are on it, else the first
    of ``PLATFORM_PREFERENCE`` they are on."""
    ids = {identity.platform: identity.user_id for identity in person.identities}
    if platform is not None and platform in ids:
        return platform, ids[platform]
    for candidate in PLATFORM_PREFERENCE:
        if candidate in ids:
            return candidate, ids[candidate]
    return None


def everyone(route: Route) -> Sequence[Person]:
    people = [route.assignee] if route.assignee else []
    for _unit, serving in route.above:
        people.extend(p for p in serving if p not in people)
    return people


def notify(
    person: Person, platform: str, text: str, *, ticket: int | None, hold: bool, topic: Topic = Topic.NOTICE
) -> DirectMessage | None:
    """A direct message to a person on the conversation's platform if possible; None if unreachable.

    ``hold``: whether the quiet hours may hold it (a notice that is not urgent waits until morning).
    """
    target = address(person, platform)
    if target is None:
        log.warning("cannot reach %s (%s): no platform id in the org", person.name, person.id)
        return None
    return DirectMessage(platform=target[0], to=target[1], text=text, ticket=ticket, topic=topic, hold=hold)
