"""The ticket state machine, and the only writer of a ticket's state, assignee and escalation level.

Chat commands, the CLI, scheduled jobs and the web desk all change tickets through this module, so a
change means the same thing and tells the same people wherever it comes from. ``apply`` moves the
state (or raises ``IllegalTransition``, changing nothing) and records the history; the actions below add
what goes with each move (the assignee, the level, points) and return an ``Outcome``: what happened, in
words, and the notices to people on the grid. The deadline sweep, which moves thousands of tickets in
bulk, uses ``next_state`` and ``escalation_step`` so that it follows the same rules.

The labels (kind, urgency, service area) change here too: a ``check`` answered or left unanswered
(``answer_check``, ``check_unanswered``) and a correction from the grid (``correct``), each with the
notices a change of that kind owes the grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select

from bot.context import Scope
from bot.message import OutgoingMessage, Topic
from bot.texts import alarm as alarm_texts
from bot.texts import chat as texts
from bot.texts import correction as correction_texts
from bot.texts.names import ROLE_TITLES
from handlers import points
from handlers.common import display_name, tell_group
from handlers.escalation import escalation_step
from handlers.hotlines import emergency_advice
from handlers.labels import Change, Labels
from handlers.routing import levels_above, notify
from storage.check_repo import CheckRepo
from storage.correction_repo import CorrectionRepo
from storage.council_repo import CouncilRepo
from storage.models import (
    UNFINISHED_STATES,
    CheckState,
    CoUnit,
    Person,
    Rating,
    Role,
    Ticket,
    TicketState,
    Unit,
)
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
    DISMISS = "dismiss"
    """不是问题: closed as noise, out of the figures."""


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
    Action.DISMISS: (UNFINISHED | {S.RESOLVED}, S.CLOSED),
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
    if action in (Action.CLOSE, Action.DISMISS):
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
    await org.warm((), {(r.platform, r.sender_id) for r in ticket.reporters if not r.person_id})  # one query
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
    announce: bool = True
    """Whether ``text`` is said in the ticket's group; if not, it is only the answer to whoever acted."""

    def messages(self, ticket: Ticket) -> list[OutgoingMessage]:
        """The announcement in the ticket's group (if any), then the notices."""
        if not self.announce:
            return list(self.notices)
        return [tell_group(ticket, self.text, mention_reporters=self.mention_reporters), *self.notices]


class Alarmable(Protocol):
    """A ticket as an ORM row or as the deadline sweep's plain row."""

    @property
    def urgent(self) -> bool: ...

    @property
    def check_state(self) -> str | None: ...


def may_wait(ticket: Alarmable) -> bool:
    """Whether the quiet hours may hold news of this ticket: never while it is urgent or its check is pending."""
    return not (ticket.urgent or ticket.check_state == CheckState.PENDING)


def _notice(person: Person | None, ticket: Ticket, text: str, topic: Topic = Topic.NOTICE) -> list[OutgoingMessage]:
    if person is None:
        return []
    dm = notify(person, ticket.platform, text, ticket=ticket.id, hold=may_wait(ticket), topic=topic)
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


async def promote_major(scope: Scope, ticket: Ticket, households: int, at: datetime) -> None:
    """Enough households reported one trivial matter: it is major now, for the council, and the sweep plans
    its deadlines again under the major policy from ``at``."""
    ticket.kind = "major"
    ticket.council_pending = True
    ticket.sla_due_at = at
    await scope.tickets.note(ticket, actor="linli", action="major", at=at, note=f"{households} households")


async def take_to_council(scope: Scope, ticket: Ticket, *, actor: str, at: datetime) -> None:
    """上会: the matter waits for the council. Its deadlines stop from now (the sweep looks at it at once and
    sees it before the council) until the published result closes it (``conclude``)."""
    ticket.council_pending = True
    ticket.sla_due_at = at
    await scope.tickets.note(ticket, actor=actor, action="council", at=at, note="上会")


async def conclude(scope: Scope, ticket: Ticket, *, actor: str, at: datetime, note: str) -> None:
    """The council's result is public: close the ticket (recording it resolved if nobody had said so)."""
    await apply(scope.tickets, ticket, Action.CONCLUDE, actor=actor, at=at, note=note)


# --- the check tier: possible danger to a person, someone must look now ---------------------------------

CHECK_ACTOR = "linli:checks"


def check_minutes(scope: Scope) -> int:
    """The time a leader has to answer a check, in whole minutes, as the texts say it."""
    return max(1, round(scope.settings.schedule.check.answer_within.total_seconds() / 60))


async def start_check(scope: Scope, ticket: Ticket, at: datetime) -> None:
    """Ask for a check on a newly opened ticket: its answer is due ``schedule.check.answer_within`` from ``at``."""
    due = at + scope.settings.schedule.check.answer_within
    ticket.check_state = CheckState.PENDING
    ticket.check_due_at = due
    await scope.tickets.note(ticket, actor=CHECK_ACTOR, action="check", at=at, note=f"answer by {due.isoformat()}")


def _reporter(ticket: Ticket) -> str:
    return ticket.reporters[0].sender_name if ticket.reporters else ""


async def _group_name(scope: Scope, ticket: Ticket) -> str:
    group = await scope.org.group(ticket.platform, ticket.chat_id)
    return group.name if group is not None and group.name else ticket.chat_id


async def advice(scope: Scope, ticket: Ticket) -> str:
    """The emergency numbers for this ticket's reporters (the lift and gas lines only where they apply)."""
    rules = [str(rule) for rule in ticket.decision.get("rules", [])]
    text = await CorrectionRepo(scope.session).original_text(ticket.id) or ticket.summary
    return emergency_advice(scope.settings.emergency, rules, text)


@dataclass(frozen=True)
class Alarm:
    """Who a ticket made urgent was announced to, and the direct messages that tell them."""

    named: list[tuple[str, str]]
    notices: list[OutgoingMessage]


async def _make_urgent(
    scope: Scope, ticket: Ticket, at: datetime, *, by: Person | None, reason: str, assignee_text: str
) -> Alarm:
    """Make the ticket urgent (and so major) and, while it is unfinished, tell the grid as an urgent report
    would have been: the assignee and every level above them, at once. ``by`` is not told what they did."""
    ticket.urgent = True
    ticket.kind = "major"
    if ticket.state not in UNFINISHED:
        return Alarm([], [])
    ticket.council_pending = True
    ticket.sla_due_at = at  # the urgent deadlines apply from now on: the sweep plans again
    assignee = await scope.org.person(ticket.assignee_id) if ticket.assignee_id else None
    group, reporter = await _group_name(scope, ticket), _reporter(ticket)
    notice = alarm_texts.urgent_notice(ticket.id, ticket.summary, group, reporter, display_name(assignee), reason)
    named: list[tuple[str, str]] = []
    notices: list[OutgoingMessage] = []
    if assignee is not None:
        named.append((ROLE_TITLES.get(assignee.role, ""), assignee.name))
        if by is None or by.id != assignee.id:
            notices += _notice(assignee, ticket, assignee_text)
    for _unit, people in await levels_above(scope.org, ticket.unit_id, assignee.unit_id if assignee else None):
        for person in people:
            if assignee is not None and person.id == assignee.id:
                continue
            named.append((ROLE_TITLES.get(person.role, ""), person.name))
            if by is None or by.id != person.id:
                notices += _notice(person, ticket, notice)
    return Alarm(named, notices)


async def answer_check(scope: Scope, ticket: Ticket, *, urgent: bool, by: Person, at: datetime) -> Outcome | None:
    """确认紧急 or 不紧急 from someone who may manage the ticket; None if the check was already settled.

    A 不紧急 that arrives after nobody answered in time still counts: the grid that was alarmed stands down
    and the ticket goes back to the kind the classifier gave it.
    """
    checks = CheckRepo(scope.session)
    if urgent:
        if not await checks.settle(ticket, CheckState.CONFIRMED):
            return None
        await scope.tickets.note(ticket, actor=by.id, action="check_confirm", at=at)
        alarm = await _make_urgent(
            scope,
            ticket,
            at,
            by=by,
            reason=alarm_texts.reason_confirmed(by.name),
            assignee_text=alarm_texts.confirmed_to_assignee(ticket.id, ticket.summary, by.name),
        )
        if ticket.state not in UNFINISHED:
            return Outcome(alarm_texts.check_settled(ticket.id, CheckState.CONFIRMED), announce=False)
        text = f"{alarm_texts.check_confirmed(ticket.id, by.name, alarm.named)}\n{await advice(scope, ticket)}"
        return Outcome(text, alarm.notices, mention_reporters=True)
    if await checks.settle(ticket, CheckState.DISMISSED):
        await scope.tickets.note(ticket, actor=by.id, action="check_dismiss", at=at)
        live = ticket.state in UNFINISHED
        return Outcome(alarm_texts.check_dismissed(ticket.id, by.name), mention_reporters=True, announce=live)
    if not await checks.settle(ticket, CheckState.DISMISSED, was=CheckState.UNANSWERED):
        return None
    await scope.tickets.note(ticket, actor=by.id, action="check_dismiss", at=at, note="after the time was up")
    return Outcome(
        alarm_texts.check_dismissed(ticket.id, by.name),
        await _stand_down(scope, ticket, by=by, at=at),
        mention_reporters=True,
    )


async def _stand_down(scope: Scope, ticket: Ticket, *, by: Person, at: datetime) -> list[OutgoingMessage]:
    """Undo what an unanswered check raised: not urgent, and of the kind it had before (the classifier's, or
    the last correction's); tell whoever was alarmed."""
    latest = await CorrectionRepo(scope.session).latest(ticket.id)
    kind = latest.after.get("kind") if latest is not None else ticket.decision.get("kind")
    ticket.urgent = False
    ticket.kind = kind if kind in ("trivial", "major") else "trivial"
    ticket.council_pending = ticket.kind == "major"
    if ticket.state not in UNFINISHED:
        return []
    ticket.sla_due_at = at
    assignee = await scope.org.person(ticket.assignee_id) if ticket.assignee_id else None
    text = alarm_texts.stand_down(ticket.id, ticket.summary, by.name)
    notices: list[OutgoingMessage] = []
    people = [assignee] if assignee is not None else []
    for _unit, serving in await levels_above(scope.org, ticket.unit_id, assignee.unit_id if assignee else None):
        people += serving
    for person in people:
        if person.id != by.id:
            # Good news, but the people it stops may already be on their way: it goes at once.
            dm = notify(person, ticket.platform, text, ticket=ticket.id, hold=False)
            notices += [dm] if dm is not None else []
    return notices


async def check_unanswered(scope: Scope, ticket: Ticket, at: datetime) -> Outcome | None:
    """The check's time is up with no answer: urgent, up the grid at once; None if it was settled meanwhile.

    A ticket finished before anyone answered (resolved, withdrawn) needs no alarm: its check is moot.
    """
    checks = CheckRepo(scope.session)
    if ticket.state not in UNFINISHED:
        if await checks.settle(ticket, CheckState.MOOT):
            await scope.tickets.note(ticket, actor=CHECK_ACTOR, action="check_moot", at=at)
        return None
    if not await checks.settle(ticket, CheckState.UNANSWERED):
        return None
    minutes = check_minutes(scope)
    await scope.tickets.note(ticket, actor=CHECK_ACTOR, action="check_unanswered", at=at, note=f"{minutes} min")
    alarm = await _make_urgent(
        scope,
        ticket,
        at,
        by=None,
        reason=alarm_texts.reason_unanswered(minutes),
        assignee_text=alarm_texts.unanswered_to_assignee(ticket.id, ticket.summary, minutes),
    )
    text = f"{alarm_texts.check_unanswered(ticket.id, alarm.named)}\n{await advice(scope, ticket)}"
    return Outcome(text, alarm.notices, mention_reporters=True)


# --- corrections from the grid: 改为大事, 改为小事, 不是问题, 改领域, 紧急, 不紧急 ---------------------------


async def correct(
    scope: Scope, ticket: Ticket, change: Change, *, by: Person, at: datetime, domain: str = ""
) -> Outcome:
    """Change the ticket's labels as ``by`` says, record the correction, and route it as the new labels want.

    The announcement (``announce``) goes to the ticket's group only where residents should hear of it;
    on a finished ticket only the record changes.
    """
    before = Labels.of(ticket)
    after = before.corrected(change, domain)
    if after == before:
        return Outcome(correction_texts.already(ticket.id, change.value, domain), announce=False)
    corrections = CorrectionRepo(scope.session)
    await corrections.add(
        ticket_id=ticket.id,
        community_id=ticket.community_id,
        at=at,
        actor=by.id,
        change=change.value,
        text=await corrections.original_text(ticket.id) or ticket.summary,
        decision=ticket.decision,
        before=before.as_json(),
        after=after.as_json(),
    )
    note = f"{change.value}: {before.tier.value}/{before.domain} -> {after.tier.value}/{after.domain}"
    await scope.tickets.note(ticket, actor=by.id, action="correct", at=at, note=note)
    live = ticket.state in UNFINISHED
    if change is Change.URGENT:
        alarm = await _make_urgent(
            scope,
            ticket,
            at,
            by=by,
            reason=alarm_texts.reason_corrected(by.name),
            assignee_text=correction_texts.notice(ticket.id, ticket.summary, by.name, change.value),
        )
        if not live:
            return Outcome(correction_texts.recorded(ticket.id, change.value), announce=False)
        text = f"{correction_texts.corrected_urgent(ticket.id, by.name, alarm.named)}\n{await advice(scope, ticket)}"
        return Outcome(text, alarm.notices, mention_reporters=True)
    ticket.kind, ticket.urgent, ticket.domain = after.kind, after.urgent, after.domain
    ticket.council_pending = live and after.kind == "major"
    if change is Change.NOISE:
        if ticket.check_state == CheckState.PENDING:
            await CheckRepo(scope.session).settle(ticket, CheckState.MOOT)
        if not can(ticket, Action.DISMISS):
            return Outcome(correction_texts.recorded(ticket.id, change.value), announce=False)
        await apply(scope.tickets, ticket, Action.DISMISS, actor=by.id, at=at, note=change.value)
        return Outcome(correction_texts.corrected_noise(ticket.id, by.name), mention_reporters=True)
    if not live:
        return Outcome(correction_texts.recorded(ticket.id, change.value, domain), announce=False)
    ticket.sla_due_at = at  # a new class of ticket, new deadlines: the sweep plans again
    assignee = await scope.org.person(ticket.assignee_id) if ticket.assignee_id else None
    notices: list[OutgoingMessage] = []
    if assignee is not None and assignee.id != by.id:
        told = correction_texts.notice(ticket.id, ticket.summary, by.name, change.value, domain)
        notices += _notice(assignee, ticket, told)
    if change is Change.MAJOR:
        group = await _group_name(scope, ticket)
        notice = correction_texts.major_notice(ticket.id, ticket.summary, group, by.name, display_name(assignee))
        named: list[tuple[str, str]] = []
        for _unit, people in await levels_above(scope.org, ticket.unit_id, assignee.unit_id if assignee else None):
            for person in people:
                named.append((ROLE_TITLES.get(person.role, ""), person.name))
                if person.id != by.id:
                    notices += _notice(person, ticket, notice)
        council = scope.settings.schedule.policy(ticket.kind, ticket.urgent, ticket.domain).council
        return Outcome(correction_texts.corrected_major(ticket.id, by.name, named, council=council), notices)
    if change is Change.TRIVIAL:
        text = correction_texts.corrected_trivial(ticket.id)
    elif change is Change.DOMAIN:
        text = correction_texts.corrected_domain(ticket.id, domain)
    else:
        text = correction_texts.corrected_not_urgent(ticket.id, ticket.kind)
    return Outcome(text, notices, announce=False)
