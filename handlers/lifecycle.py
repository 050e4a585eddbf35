"""The ticket state machine, and the only writer of a ticket's state, assignee and escalation level.

Chat commands, the CLI, scheduled jobs and the web desk all change tickets through this module, so a
change means the same thing and tells the same people wherever it comes from. ``apply`` moves the
state (or raises ``IllegalTransition``, changing nothing) and records the history; the actions below add
what goes with each move (the assignee, the level, points) and return an ``Outcome``: what happened, in
words, and the notices to people on the grid. The deadline sweep, which moves thousands of tickets in
bulk, uses ``next_state`` and ``escalation_step`` so that it follows the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from bot.context import Scope
from bot.message import OutgoingMessage, Topic
from bot.texts import chat as texts
from bot.texts import desk as desk_texts
from handlers import points
from handlers.common import display_name, tell_group
from handlers.escalation import escalation_step
from handlers.routing import notify, route
from storage.council_repo import CouncilRepo
from storage.models import UNFINISHED_STATES, CoUnit, Person, Rating, Role, Ticket, TicketState, Unit
from storage.org_repo import OrgRepo
from storage.ticket_repo import TicketRepo

S = TicketState
UNFINISHED = frozenset(UNFINISHED_STATES)


class Action(StrEnum):
    ACCEPT = "accept"
    RESOLVE = "resolve"
    CLOSE = "close"
    ESCALATE = "escalate"
    TRANSFER = "transfer"
    DISPATCH = "dispatch"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    MERGE = "merge"
    REOPEN = "reopen"
    CONCLUDE = "conclude"
    """A council item's result is public: the ticket is done, whatever state it was in."""


TRANSITIONS: dict[Action, tuple[frozenset[TicketState], TicketState]] = {
    Action.ACCEPT: (frozenset({S.OPEN, S.ASSIGNED, S.ESCALATED, S.REOPENED}), S.ACCEPTED),
    Action.RESOLVE: (frozenset({S.ASSIGNED, S.ACCEPTED, S.ESCALATED, S.REOPENED}), S.RESOLVED),
    Action.CLOSE: (frozenset({S.RESOLVED}), S.CLOSED),
    Action.ESCALATE: (UNFINISHED, S.ESCALATED),
    Action.TRANSFER: (UNFINISHED, S.ASSIGNED),
    Action.DISPATCH: (UNFINISHED, S.ASSIGNED),
    Action.REJECT: (frozenset({S.OPEN, S.ASSIGNED, S.ESCALATED, S.REOPENED}), S.REJECTED),
    Action.WITHDRAW: (UNFINISHED, S.WITHDRAWN),
    Action.MERGE: (UNFINISHED, S.MERGED),
    Action.REOPEN: (frozenset({S.RESOLVED, S.CLOSED}), S.REOPENED),
    Action.CONCLUDE: (UNFINISHED | {S.RESOLVED}, S.CLOSED),
}


class OutsideCommunity(Exception):
    """The person serves another community than the ticket's: nothing was changed."""

    def __init__(self, ticket_id: int, person_id: str) -> None:
        self.ticket_id = ticket_id
        self.person_id = person_id
        super().__init__(f"{person_id} does not serve the community of #{ticket_id}")


class IllegalTransition(Exception):
    def __init__(self, ticket_id: int, state: str, action: Action) -> None:
        self.ticket_id = ticket_id
        self.state = state
        self.action = action
        super().__init__(f"#{ticket_id} is {state}; cannot {action}")


class AwaitingCouncil(IllegalTransition):
    """The ticket is before the 党群议事会: it closes only when the council's result is made public."""


HELD_BY_COUNCIL = frozenset({Action.CLOSE, Action.WITHDRAW, Action.REJECT, Action.MERGE})
"""What a council item's ticket may not do until its result is public (then ``conclude`` closes it)."""


async def not_held(scope: Scope, ticket: Ticket, action: Action) -> None:
    """Raise AwaitingCouncil if the council holds the ticket and ``action`` would finish it."""
    if action in HELD_BY_COUNCIL and await CouncilRepo(scope.session).holds(ticket.id):
        raise AwaitingCouncil(ticket.id, ticket.state, action)


def can(ticket: Ticket, action: Action) -> bool:
    return TicketState(ticket.state) in TRANSITIONS[action][0]


def next_state(ticket_id: int, state: str, action: Action) -> TicketState:
    """The state ``action`` moves a ticket in ``state`` to, or IllegalTransition."""
    allowed, target = TRANSITIONS[action]
    if TicketState(state) not in allowed:
        raise IllegalTransition(ticket_id, state, action)
    return target


async def apply(
    tickets: TicketRepo, ticket: Ticket, action: Action, *, actor: str, at: datetime, note: str = ""
) -> None:
    """Move the ticket or raise IllegalTransition, changing nothing."""
    target = next_state(ticket.id, ticket.state, action)
    if action is Action.ACCEPT and ticket.accepted_at is None:
        ticket.accepted_at = at
    if action is Action.RESOLVE:
        ticket.resolved_at = at
        ticket.accepted_at = ticket.accepted_at or at
        ticket.resolution_note = note
    if action is Action.CLOSE:
        ticket.closed_at = at
    if action is Action.CONCLUDE:
        ticket.resolved_at = ticket.resolved_at or at
        ticket.resolution_note = ticket.resolution_note or note
        ticket.closed_at = at
    if action is Action.REOPEN:
        ticket.resolved_at = None
        ticket.closed_at = None
    await tickets.transition(ticket, target, actor=actor, action=action.value, at=at, note=note)


# --- who may act -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """Where a person stands relative to one ticket."""

    is_assignee: bool
    is_higher: bool
    same_community: bool

    @property
    def may_manage(self) -> bool:
        return self.is_assignee or self.is_higher


async def standing(org: OrgRepo, person: Person | None, ticket: Ticket) -> Standing:
    if person is None or not person.active:
        return Standing(False, False, False)
    chain = [u.id for u in await org.chain(ticket.unit_id)]
    own_unit = await org.unit(person.unit_id)
    same_community = own_unit is not None and own_unit.community_id == ticket.community_id
    is_assignee = person.id == ticket.assignee_id
    # Strictly above the ticket's own unit, or serving the unit itself when nobody is assigned there.
    is_higher = person.role != Role.RESIDENT and person.unit_id in chain[1:]
    return Standing(is_assignee, is_higher, same_community)


def is_reporter(ticket: Ticket, platform: str, sender_id: str) -> bool:
    return any(r.platform == platform and r.sender_id == sender_id for r in ticket.reporters)


async def household_of(org: OrgRepo, platform: str, sender_id: str, person_id: str | None) -> str:
    """Who counts as one household: the org's household of a known person, the person, else the account."""
    person = await org.person(person_id) if person_id else await org.person_by_identity(platform, sender_id)
    if person is not None:
        return f"household:{person.household}" if person.household else f"person:{person.id}"
    return f"account:{platform}:{sender_id}"


async def households(org: OrgRepo, ticket: Ticket) -> int:
    """How many households reported ``ticket`` (one family's several accounts count once)."""
    return len({await household_of(org, r.platform, r.sender_id, r.person_id) for r in ticket.reporters})


async def serves_community(org: OrgRepo, person: Person, community_id: str) -> bool:
    unit = await org.unit(person.unit_id)
    return unit is not None and unit.community_id == community_id


# --- actions and what goes with them -------------------------------------------------------------------


@dataclass
class Outcome:
    """What an action did, in words, and the direct messages it owes people on the grid."""

    text: str
    notices: list[OutgoingMessage] = field(default_factory=list)
    mention_reporters: bool = False

    def messages(self, ticket: Ticket) -> list[OutgoingMessage]:
        """The announcement in the ticket's group, then the notices."""
        return [tell_group(ticket, self.text, mention_reporters=self.mention_reporters), *self.notices]


def _notice(person: Person | None, ticket: Ticket, text: str, topic: Topic = Topic.NOTICE) -> list[OutgoingMessage]:
    if person is None:
        return []
    dm = notify(person, ticket.platform, text, ticket=ticket.id, hold=not ticket.urgent, topic=topic)
    return [dm] if dm is not None else []


async def accept(scope: Scope, ticket: Ticket, leader: Person, at: datetime) -> Outcome:
    await apply(scope.tickets, ticket, Action.ACCEPT, actor=leader.id, at=at)
    await points.award_accept(scope, ticket, leader)
    return Outcome(texts.accepted(ticket.id, leader.name, ticket.summary), mention_reporters=True)


async def resolve(scope: Scope, ticket: Ticket, leader: Person, at: datetime, note: str) -> Outcome:
    await apply(scope.tickets, ticket, Action.RESOLVE, actor=leader.id, at=at, note=note)
    await points.award(scope, leader.id, ticket, "resolve", scope.settings.points.resolve, at)
    return Outcome(texts.resolved(ticket.id, leader.name, note), mention_reporters=True)


async def reject(scope: Scope, ticket: Ticket, *, actor: str, at: datetime, reason: str) -> Outcome:
    await not_held(scope, ticket, Action.REJECT)
    await apply(scope.tickets, ticket, Action.REJECT, actor=actor, at=at, note=reason)
    return Outcome(texts.rejected(ticket.id, reason), mention_reporters=True)


async def transfer(scope: Scope, ticket: Ticket, target: Person, *, by: str, actor: str, at: datetime) -> Outcome:
    """Give the ticket to ``target`` (who must accept it anew); ``by`` names who handed it over.

    ``target`` must serve the ticket's community (OutsideCommunity otherwise, nothing changed)."""
    if not await serves_community(scope.org, target, ticket.community_id):
        raise OutsideCommunity(ticket.id, target.id)
    old = await scope.org.person(ticket.assignee_id) if ticket.assignee_id else None
    await apply(scope.tickets, ticket, Action.TRANSFER, actor=actor, at=at, note=target.id)
    ticket.assignee_id = target.id
    ticket.accepted_at = None
    text = texts.transferred(ticket.id, display_name(old, by), target.name)
    return Outcome(text, _notice(target, ticket, texts.new_assignment(ticket.id, by, ticket.summary)))


async def dispatch(scope: Scope, ticket: Ticket, unit: CoUnit, *, by: str, actor: str, at: datetime) -> Outcome:
    """Hand the ticket to a co-building unit; its contact, if it has one, becomes the assignee."""
    contact = await scope.org.person(unit.contact_id) if unit.contact_id else None
    await apply(scope.tickets, ticket, Action.DISPATCH, actor=actor, at=at, note=unit.id)
    ticket.co_unit_id = unit.id
    if contact is not None:
        ticket.assignee_id = contact.id
        ticket.accepted_at = None
    group = await scope.org.group(ticket.platform, ticket.chat_id)
    task = texts.dispatch_task(ticket.id, ticket.summary, group.name if group else "", by)
    text = texts.dispatched(ticket.id, unit.name, display_name(contact, texts.CONTACT_UNKNOWN))
    return Outcome(text, _notice(contact, ticket, task))


@dataclass(frozen=True)
class Escalation:
    level: Unit
    people: tuple[Person, ...]
    outcome: Outcome


async def escalate(scope: Scope, ticket: Ticket, *, by: str, actor: str, at: datetime) -> Escalation | None:
    """Raise the ticket one level up the grid and tell that level's people; None (nothing changed) at the top."""
    org = scope.org
    chain = await org.chain(ticket.unit_id)
    serving = {unit.id: tuple(await org.responsible(unit.id)) for unit in chain}
    assignee = await org.person(ticket.assignee_id) if ticket.assignee_id else None
    step = escalation_step(
        [u.id for u in chain], assignee.unit_id if assignee else None, ticket.escalation_level, serving.__getitem__
    )
    if step is None:
        next_state(ticket.id, ticket.state, Action.ESCALATE)  # a finished ticket is refused as such
        return None
    level, unit_id, people = step
    await apply(scope.tickets, ticket, Action.ESCALATE, actor=actor, at=at, note=f"-> {unit_id}")
    ticket.escalation_level = level
    unit = next(u for u in chain if u.id == unit_id)
    notice = texts.escalation_notice(ticket.id, ticket.summary, by, display_name(assignee))
    text = texts.escalated(ticket.id, unit.name, "、".join(p.name for p in people))
    notices = [dm for person in people for dm in _notice(person, ticket, notice)]
    return Escalation(unit, tuple(people), Outcome(text, notices))


async def withdraw(
    scope: Scope, ticket: Ticket, *, platform: str, sender_id: str, who: str, actor: str, at: datetime
) -> Outcome:
    """A reporter takes their report back. Others still reporting it keep the ticket: only this reporter is
    removed. The last reporter withdraws the ticket (not while it awaits the council), and the assignee is
    told there is nothing left to do."""
    others = [r for r in ticket.reporters if (r.platform, r.sender_id) != (platform, sender_id)]
    if others and len(others) < len(ticket.reporters):
        next_state(ticket.id, ticket.state, Action.WITHDRAW)  # a finished ticket is refused as such
        await scope.tickets.remove_reporter(ticket, platform=platform, sender_id=sender_id)
        await scope.tickets.note(ticket, actor=actor, action="unreport", at=at, note=f"{platform}:{sender_id}")
        return Outcome(texts.unreported(ticket.id))
    await not_held(scope, ticket, Action.WITHDRAW)
    assignee = await scope.org.person(ticket.assignee_id) if ticket.assignee_id else None
    await apply(scope.tickets, ticket, Action.WITHDRAW, actor=actor, at=at)
    return Outcome(texts.withdrawn(ticket.id), _notice(assignee, ticket, texts.withdrawn_notice(ticket.id, who)))


GOOD_SCORE, BAD_SCORE = 4, 2


async def rate(
    scope: Scope, ticket: Ticket, score: int, *, platform: str, sender_id: str, actor: str, at: datetime
) -> Outcome:
    """A reporter's rating of a resolved ticket: a bad one reopens it for the assignee; good ones close it once
    they come from ``tickets.ratings_to_close`` of the households that reported it (one, for one household)."""
    if ticket.state != S.RESOLVED:
        raise IllegalTransition(ticket.id, ticket.state, Action.CLOSE)
    await not_held(scope, ticket, Action.CLOSE)
    scope.session.add(Rating(ticket_id=ticket.id, platform=platform, sender_id=sender_id, score=score, at=at))
    await scope.session.flush()
    assignee = await scope.org.person(ticket.assignee_id) if ticket.assignee_id else None
    if score <= BAD_SCORE:
        await apply(scope.tickets, ticket, Action.REOPEN, actor=actor, at=at, note=f"rating {score}")
        if assignee is None:
            return Outcome(texts.rated_badly(ticket.id))
        await points.award(scope, assignee.id, ticket, "bad_rating", scope.settings.points.bad_rating, at)
        notice = texts.bad_rating_notice(ticket.id, ticket.summary, score)
        return Outcome(texts.rated_badly(ticket.id), _notice(assignee, ticket, notice))
    if not await _enough_good_ratings(scope, ticket):
        hours = round(scope.settings.tickets.auto_close_hours)
        return Outcome(texts.rating_recorded(ticket.id, score, hours))
    await apply(scope.tickets, ticket, Action.CLOSE, actor=actor, at=at, note=f"rating {score}")
    if assignee is not None and score >= GOOD_SCORE:
        await points.award(scope, assignee.id, ticket, "good_rating", scope.settings.points.good_rating, at)
    return Outcome(texts.rated(ticket.id, score))


async def _enough_good_ratings(scope: Scope, ticket: Ticket) -> bool:
    """Whether the households that rated the ticket well since it was resolved are enough to close it."""
    reporters = {(r.platform, r.sender_id): r.person_id for r in ticket.reporters}
    since = ticket.resolved_at
    rows = await scope.session.execute(
        select(Rating.platform, Rating.sender_id).where(
            Rating.ticket_id == ticket.id, Rating.score > BAD_SCORE, *([Rating.at >= since] if since else [])
        )
    )
    content = {
        await household_of(scope.org, platform, sender_id, reporters.get((platform, sender_id)))
        for platform, sender_id in rows.all()
    }
    wanted = max(1, math.ceil(await households(scope.org, ticket) * scope.settings.tickets.ratings_to_close))
    return len(content) >= wanted


async def close(scope: Scope, ticket: Ticket, *, actor: str, at: datetime, note: str) -> None:
    """Close a resolved ticket without a rating (by staff, or when nobody objected in time)."""
    await not_held(scope, ticket, Action.CLOSE)
    await apply(scope.tickets, ticket, Action.CLOSE, actor=actor, at=at, note=note)


async def correct(
    scope: Scope, ticket: Ticket, *, kind: str, domain: str, by: str, actor: str, at: datetime
) -> Outcome:
    """Staff correct the classifier's kind (小事/大事) or service area, from the desk.

    Recorded in the history; an unfinished ticket's deadline is planned anew under its new class (the
    sweep looks at it again); a ticket that becomes major joins the council's agenda and the levels above
    its assignee are told, as when enough households report it. Not announced in the residents' group.
    """
    note = f"{ticket.kind}/{ticket.domain} -> {kind}/{domain}"
    becomes_major = kind == "major" and ticket.kind != "major"
    ticket.kind, ticket.domain = kind, domain
    await scope.tickets.note(ticket, actor=actor, action="correct", at=at, note=note)
    if ticket.state in UNFINISHED:
        ticket.sla_due_at = at
    notices: list[OutgoingMessage] = []
    if becomes_major:
        ticket.council_pending = True
        text = desk_texts.corrected_to_major(ticket.id, ticket.summary, by)
        for _unit, serving in (await route(scope.org, ticket.unit_id)).above:
            for person in serving:
                notices.extend(_notice(person, ticket, text))
    return Outcome(desk_texts.DONE["correct"], notices)
async def close_many(scope: Scope, tickets: Sequence[Ticket], *, actor: str, at: datetime, note: str) -> list[Ticket]:
    """``close`` for a batch of resolved tickets (the auto-close job), asking about the council once for all of
    them; returns those closed (a ticket before the council is left as it is)."""
    held = await CouncilRepo(scope.session).holding([t.id for t in tickets])
    closed = []
    for ticket in tickets:
        if ticket.id in held:
            continue
        await apply(scope.tickets, ticket, Action.CLOSE, actor=actor, at=at, note=note)
        closed.append(ticket)
    return closed


async def conclude(scope: Scope, ticket: Ticket, *, actor: str, at: datetime, note: str) -> None:
    """The council's result is public: close the ticket (recording it resolved if nobody had said so)."""
    await apply(scope.tickets, ticket, Action.CONCLUDE, actor=actor, at=at, note=note)
