"""Household votes (一户一票) on council items: started by the committee or the branch, answered by each
household in its group or by direct message, counted on request and announced at the deadline.

A household is a room of the vote's unit: one the org file lists (with its members, who alone vote for it,
or without, when whoever names the room votes for it), or, when the org lists no households for the unit,
the room a resident names ("同意 301"). A later ballot of the same household replaces the earlier one;
every ballot is kept, so ``recount`` gives the tally again from what was stored. Nobody's vote is shown
to anyone else: answers in a group say only that the household's vote was received.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.context import JobContext, Scope
from bot.jobs import JobOutcome
from bot.message import OutgoingMessage, Say, Topic
from bot.texts import votes as texts
from bot.texts.council import who
from config.council import Eligible, ShareOf, parse_share
from config.rooms import RoomRef
from handlers.council_grid import groups_under, home_units, local, may_act
from handlers.council_items import CouncilOutcome, CouncilRefusal, item_of
from handlers.routing import notify
from handlers.tally import recount, rule_snapshot
from storage.council_models import Vote
from storage.household_repo import HouseholdRepo
from storage.models import ChatGroup, Message, Person, Ticket, Unit
from storage.vote_repo import VoteRepo

log = logging.getLogger(__name__)

ACTOR = "linli:votes"
BATCH = 100
LATE = timedelta(days=7)
"""For this long after a vote's deadline a ballot in its groups is told it came too late (after that, it is chat)."""


_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s*(\d{1,2})[:：](\d{2}))?")
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})[日号]?(?:\s*(\d{1,2})[:：](\d{2}))?")


def parse_deadline(text: str, now_local: datetime) -> datetime | None:
    """``2026-12-20`` (the end of that day), ``2026-12-20 18:00``, ``12月20日``: aware, in ``now_local``'s zone."""
    folded = unicodedata.normalize("NFKC", text).strip()
    full = _DATE.fullmatch(folded)
    short = None if full else _MONTH_DAY.fullmatch(folded)
    try:
        if full:
            year, month, day = int(full.group(1)), int(full.group(2)), int(full.group(3))
            hour, minute = full.group(4), full.group(5)
        elif short:
            year, month, day = now_local.year, int(short.group(1)), int(short.group(2))
            hour, minute = short.group(3), short.group(4)
            if datetime(year, month, day, tzinfo=now_local.tzinfo).date() < now_local.date():
                year += 1
        else:
            return None
        if hour is None:
            return datetime(year, month, day, tzinfo=now_local.tzinfo) + timedelta(days=1)
        return datetime(year, month, day, int(hour), int(minute), tzinfo=now_local.tzinfo)
    except ValueError:
        return None


# --- starting a vote --------------------------------------------------------------------------------------


async def start(
    scope: Scope, ticket: Ticket, *, by: Person | None, title: str, deadline: datetime | None, at: datetime
) -> CouncilOutcome:
    """发起表决: a household vote on the ticket's council item, announced in every group of its unit."""
    settings = scope.settings.council.votes
    if by is not None and not await may_act(scope, by, ticket.unit_id, settings.may_start):
        raise CouncilRefusal(texts.not_allowed(who(settings.may_start)))
    item = await item_of(scope, ticket)
    if item.stage == "result_published":
        raise CouncilRefusal(texts.no_vote_on(ticket.id))
    repo = VoteRepo(scope.session)
    if await repo.running(item.id) is not None:
        raise CouncilRefusal(texts.running(ticket.id))
    title = title.strip() or item.title
    rule = settings.rule_for(f"{title} {item.title}")
    unit = await scope.org.unit(item.unit_id)
    assert unit is not None
    units = await scope.org.subtree(item.unit_id)
    households = HouseholdRepo(scope.session)
    listed = await households.count(units) > 0
    owners = rule.eligible is Eligible.OWNERS
    eligible: int | None = None
    if listed:
        eligible = await households.count(units, owners_only=owners)
        if eligible == 0:
            raise CouncilRefusal(texts.no_eligible(unit.name))
    elif owners:
        raise CouncilRefusal(texts.owners_need_listing(unit.name))
    elif rule.approve_of is ShareOf.ELIGIBLE or parse_share(rule.turnout)[0] > 0:
        raise CouncilRefusal(texts.base_needs_listing(unit.name))
    if deadline is None:
        deadline = local(scope, at).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
            days=settings.default_days + 1
        )
    if deadline <= at:
        raise CouncilRefusal(texts.deadline_past(local(scope, deadline)))
    actor = by.id if by is not None else "staff"
    snapshot = rule_snapshot(rule)
    vote = await repo.open(
        item_id=item.id,
        ticket_id=ticket.id,
        unit_id=item.unit_id,
        title=title,
        at=at,
        by=actor,
        deadline=deadline,
        rule=snapshot,
        listed=listed,
        eligible=eligible,
    )
    await scope.tickets.note(ticket, actor=actor, action="vote", at=at, note=f"{title} until {deadline.isoformat()}")
    rooms_needed = not listed or await households.unmembered(units) > 0
    call = texts.opened(ticket.id, title, local(scope, deadline), snapshot["text"], owners, rooms_needed)
    groups = await groups_under(scope, item.unit_id)
    messages: list[OutgoingMessage] = [
        Say(g.platform, g.chat_id, call, ticket=ticket.id, topic=Topic.NOTICE, hold=True) for g in groups
    ]
    log.info("vote %d on #%d started by %s: %s, eligible %s", vote.id, ticket.id, actor, rule.name, eligible)
    return CouncilOutcome(texts.started(ticket.id, local(scope, deadline), len(groups)), messages)


# --- casting a ballot -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Voter:
    platform: str
    sender_id: str
    sender_name: str
    person: Person | None
    group_unit: str | None
    """The unit of the group the ballot was cast in (None: by direct message)."""
    message_id: str = ""


async def votes_for(scope: Scope, voter: Voter) -> list[Vote]:
    """The votes this voter could mean: those of the group's unit (or above it), or by direct message those of
    the units the voter belongs to; still running, or closed lately (to be told they are closed)."""
    running = await VoteRepo(scope.session).recent(scope.now - LATE)
    if not running:
        return []
    if voter.group_unit is not None:
        mine = [voter.group_unit]
    else:
        mine = await home_units(scope, voter.platform, voter.sender_id, voter.person)
    found = []
    for vote in running:
        under = set(await scope.org.subtree(vote.unit_id))
        if under & set(mine):
            found.append(vote)
    return found


async def _belongs(scope: Scope, voter: Voter, units: set[str]) -> bool:
    """Whether the voter lives in these units as far as linli can tell: in one of their groups, listed there,
    or having written in one of their groups before."""
    if voter.group_unit in units or (voter.person is not None and voter.person.unit_id in units):
        return True
    seen = await scope.session.scalar(
        select(Message.id)
        .join(ChatGroup, (ChatGroup.platform == Message.platform) & (ChatGroup.chat_id == Message.chat_id))
        .where(Message.platform == voter.platform, Message.sender_id == voter.sender_id, ChatGroup.unit_id.in_(units))
        .limit(1)
    )
    return seen is not None


def _fold(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).upper()


async def _building(scope: Scope, vote: Vote, voter: Voter, ref: RoomRef, units: list[str], verb: str) -> str:
    """The unit a named room is in: the vote's own unit when it has none below it, else the building named
    before the room (3栋1502), else the building of the group the ballot was cast in."""
    if len(units) == 1:
        return units[0]
    rows = (await scope.session.scalars(select(Unit).where(Unit.id.in_(units)))).all()
    parents = {u.parent_id for u in rows}
    leaves = [u for u in rows if u.id not in parents]
    if ref.building is not None:
        named = [u for u in leaves if _fold(u.name).endswith(_fold(ref.building))]
        if len(named) == 1:
            return named[0].id
    elif voter.group_unit is not None and voter.group_unit in {u.id for u in leaves}:
        return voter.group_unit
    raise CouncilRefusal(texts.need_building(verb))


async def _household(scope: Scope, vote: Vote, voter: Voter, ref: RoomRef | None, verb: str) -> tuple[str, str]:
    """(household id, room as said back) for this ballot, or a refusal saying why it cannot count."""
    units = await scope.org.subtree(vote.unit_id)
    unit = await scope.org.unit(vote.unit_id)
    unit_name = unit.name if unit is not None else vote.unit_id
    households = HouseholdRepo(scope.session)
    if vote.listed and ref is None and voter.person is not None:
        own = await households.of_person(voter.person.id, units)
        if len(own) == 1:
            return own[0].id, own[0].room
    if ref is None:
        if not await _belongs(scope, voter, set(units)):
            raise CouncilRefusal(texts.outside(unit_name))
        raise CouncilRefusal(texts.need_room(verb))
    building = await _building(scope, vote, voter, ref, units, verb)
    household_id = f"{building}:{ref.room}"
    if not vote.listed:
        if not await _belongs(scope, voter, set(units)):
            raise CouncilRefusal(texts.outside(unit_name))
        return household_id, ref.room
    household = await households.get(household_id)
    if household is None or not household.active:
        raise CouncilRefusal(texts.unknown_room(ref.room, unit_name))
    members = await households.members(household_id)
    if members:
        if voter.person is None or voter.person.id not in members:
            raise CouncilRefusal(texts.room_has_members(ref.room))
    elif not await _belongs(scope, voter, set(units)):
        raise CouncilRefusal(texts.outside(unit_name))
    if vote.rule.get("eligible") == Eligible.OWNERS and not household.owner:
        raise CouncilRefusal(texts.not_owner(ref.room))
    return household_id, household.room


async def cast(
    scope: Scope, vote: Vote, choice: str, voter: Voter, *, room: RoomRef | None, at: datetime, verb: str
) -> str:
    """Record one household's choice; what to answer (never the choice itself, when said in a group)."""
    ticket_id = vote.ticket_id
    if at >= vote.deadline:
        raise CouncilRefusal(texts.closed(ticket_id, local(scope, vote.deadline)))
    household_id, room_said = await _household(scope, vote, voter, room, verb)
    previous = await VoteRepo(scope.session).cast(
        vote,
        household_id=household_id,
        choice=choice,
        platform=voter.platform,
        sender_id=voter.sender_id,
        sender_name=voter.sender_name,
        person_id=voter.person.id if voter.person is not None else None,
        at=at,
        message_id=voter.message_id,
    )
    log.info("vote %d: ballot from %s:%s for %s", vote.id, voter.platform, voter.sender_id, household_id)
    return texts.cast(room_said, replaced=previous is not None)


async def count_text(scope: Scope, vote: Vote) -> str:
    """The running count (or, once closed, the announced tally) in words."""
    if vote.result is not None:
        figures = texts.Figures(
            vote.result["agree"],
            vote.result["oppose"],
            vote.result["abstain"],
            vote.eligible,
            vote.result["passed"],
            vote.result["rule"],
        )
        return texts.count(vote.ticket_id, vote.title, figures, local(scope, vote.deadline), final=True)
    current = await recount(scope.session, vote)
    return texts.count(vote.ticket_id, vote.title, current.figures(), local(scope, vote.deadline), final=False)


# --- the deadline ------------------------------------------------------------------------------------------


async def close_due_votes(ctx: JobContext) -> JobOutcome:
    """The job: votes past their deadline are counted from the stored ballots and the tally announced in
    every group of the unit (and to whoever started the vote); a batch at a time, each vote once."""
    repo = VoteRepo(ctx.session)
    due = await repo.due(ctx.now, BATCH)
    outcome = JobOutcome(more=len(due) == BATCH)
    for vote in due:
        if not await repo.close(vote, ctx.now):
            continue  # another process closed it between our read and now: it announces the tally
        counted = await recount(ctx.session, vote)
        vote.result = counted.as_json()
        ticket = await ctx.tickets.get(vote.ticket_id)
        text = texts.count(vote.ticket_id, vote.title, counted.figures(), local(ctx, vote.deadline), final=True)
        if ticket is not None:
            await ctx.tickets.note(ticket, actor=ACTOR, action="vote_result", at=ctx.now, note=str(vote.result))
        for group in await groups_under(ctx, vote.unit_id):
            outcome.messages.append(Say(group.platform, group.chat_id, text, ticket=vote.ticket_id, hold=True))
        opener = await ctx.org.person(vote.opened_by)
        if opener is not None and ticket is not None:
            dm = notify(opener, ticket.platform, text, ticket=vote.ticket_id, hold=True)
            if dm is not None:
                outcome.messages.append(dm)
        outcome.report.append({"vote": vote.id, "ticket": vote.ticket_id, **vote.result})
        log.info("vote %d on #%d closed: %s", vote.id, vote.ticket_id, vote.result)
    return outcome
