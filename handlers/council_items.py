"""Council items through 四议两公开: a major ticket (or a suggestion) taken to the 党群议事会, each step
recorded in order by whoever the settings name for it, the resolution and then the result made public in
every group of the unit; the ticket closes only when the result is public (``lifecycle.conclude``).

The actions take a ``Scope`` and the acting person (None: staff at the command line or the desk, trusted),
like the lifecycle's, so chat commands, ``linli council`` and the web desk do the same thing and tell the
same people. A refusal raises ``CouncilRefusal`` with the reason in words, and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Scope
from bot.message import OutgoingMessage, Say, Topic
from bot.texts import chat as chat_texts
from bot.texts import council as texts
from bot.texts.names import summarise
from config.council import STAGES, Stage
from handlers import lifecycle
from handlers.common import tell_group
from handlers.council_grid import groups_under, local, may_act, people_for
from handlers.routing import notify, route
from handlers.tally import recount
from storage.council_models import CouncilItem, Suggestion
from storage.council_repo import CouncilRepo
from storage.models import Person, Ticket, TicketState
from storage.vote_repo import VoteRepo

log = logging.getLogger(__name__)

NEEDS_TEXT = frozenset(STAGES) - {Stage.RESOLUTION_PUBLISHED}
"""Steps that must come with words: the proposal, the minutes, the resolution, the result."""


class CouncilRefusal(Exception):
    """Why a council action cannot be done, in words for whoever asked; nothing was changed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass
class CouncilOutcome:
    """What an action did: the answer for whoever acted, and what it announces in groups and to people."""

    text: str
    messages: list[OutgoingMessage] = field(default_factory=list)


def next_step(stage: str | None) -> Stage | None:
    """The step after ``stage`` (the proposal first); None once the result is public."""
    if stage is None:
        return STAGES[0]
    index = STAGES.index(Stage(stage))
    return STAGES[index + 1] if index + 1 < len(STAGES) else None


def _actor(by: Person | None) -> tuple[str, str]:
    return (by.id, by.name) if by is not None else ("staff", texts.STAFF)


async def item_of(scope: Scope, ticket: Ticket) -> CouncilItem:
    item = await CouncilRepo(scope.session).of_ticket(ticket.id)
    if item is None:
        raise CouncilRefusal(texts.not_item(ticket.id))
    return item


async def _tell_next(
    scope: Scope, item: CouncilItem, ticket: Ticket, done: str | None, by: Person | None
) -> list[OutgoingMessage]:
    """Notices to whoever records the step after ``done``."""
    step = next_step(done)
    if step is None:
        return []
    name = _actor(by)[1]
    out: list[OutgoingMessage] = []
    for person in await people_for(scope, item.unit_id, scope.settings.council.may_record.roles(step)):
        if by is not None and person.id == by.id:
            continue
        text = texts.step_notice(ticket.id, item.title, done, name, step)
        dm = notify(person, ticket.platform, text, ticket=ticket.id, hold=True)
        if dm is not None:
            out.append(dm)
    return out


async def add_ticket(scope: Scope, ticket: Ticket, *, by: Person | None, at: datetime) -> CouncilOutcome:
    """上会: take a major ticket to the council."""
    repo = CouncilRepo(scope.session)
    roles = scope.settings.council.may_record.add
    if by is not None and not await may_act(scope, by, ticket.unit_id, roles):
        raise CouncilRefusal(texts.not_allowed_add(roles))
    if ticket.kind != "major":
        raise CouncilRefusal(texts.not_major(ticket.id))
    if ticket.state not in lifecycle.UNFINISHED and ticket.state != TicketState.RESOLVED:
        raise CouncilRefusal(texts.not_open(ticket.id, ticket.state))
    existing = await repo.of_ticket(ticket.id)
    if existing is not None:
        raise CouncilRefusal(texts.already_item(ticket.id, existing.stage))
    actor, _ = _actor(by)
    item = await repo.add(ticket=ticket, title=ticket.summary, at=at, by=actor)
    await lifecycle.take_to_council(scope, ticket, actor=actor, at=at)
    log.info("#%d taken to the council by %s", ticket.id, actor)
    messages: list[OutgoingMessage] = [
        tell_group(ticket, texts.added_in_group(ticket.id, item.title), mention_reporters=True)
    ]
    messages += await _tell_next(scope, item, ticket, None, by)
    return CouncilOutcome(texts.added(ticket.id, item.title, STAGES[0]), messages)


async def add_suggestion(scope: Scope, suggestion: Suggestion, *, by: Person | None, at: datetime) -> CouncilOutcome:
    """上会 #S3: a suggestion becomes a major ticket in its unit's group, and that ticket a council item."""
    label = f"#S{suggestion.id}"
    taken = await CouncilRepo(scope.session).of_suggestion(suggestion.id)
    if taken is not None:
        raise CouncilRefusal(texts.already_item(taken.ticket_id, taken.stage))
    if suggestion.unit_id is None:
        raise CouncilRefusal(texts.no_group(label))
    roles = scope.settings.council.may_record.add
    if by is not None and not await may_act(scope, by, suggestion.unit_id, roles):
        raise CouncilRefusal(texts.not_allowed_add(roles))
    group = None
    for unit in await scope.org.chain(suggestion.unit_id):
        bound = [g for g in await groups_under(scope, unit.id) if g.unit_id == unit.id]
        bound.sort(key=lambda g: (g.platform != suggestion.platform, g.platform, g.chat_id))
        if bound:
            group = bound[0]
            break
    if group is None or group.unit_id is None:
        raise CouncilRefusal(texts.no_group(label))
    home = await scope.org.unit(group.unit_id)
    assert home is not None
    grid = await route(scope.org, home.id)
    actor, name = _actor(by)
    summary = summarise(suggestion.text)
    ticket = await scope.tickets.open(
        community_id=home.community_id,
        unit_id=home.id,
        platform=group.platform,
        chat_id=group.chat_id,
        kind="major",
        urgent=False,
        domain=suggestion.domain,
        summary=summary,
        decision={"source": "suggestion", "suggestion": suggestion.id},
        assignee_id=grid.assignee.id if grid.assignee else None,
        opened_at=at,
        actor=actor,
    )
    if not suggestion.anonymous:
        await scope.tickets.add_reporter(
            ticket,
            platform=suggestion.platform,
            sender_id=suggestion.sender_id,
            sender_name=suggestion.sender_name,
            person_id=suggestion.person_id,
            at=suggestion.at,
        )
    else:
        await scope.session.refresh(ticket, ["reporters"])  # none: whoever wrote it stays unnamed
    outcome = await add_ticket(scope, ticket, by=by, at=at)
    item = await CouncilRepo(scope.session).of_ticket(ticket.id)
    assert item is not None
    item.suggestion_id = suggestion.id
    if grid.assignee is not None:
        task = chat_texts.new_task(ticket.id, "major", False, group.name, name, summary)
        dm = notify(grid.assignee, ticket.platform, task, ticket=ticket.id, hold=True)
        if dm is not None:
            outcome.messages.append(dm)
    return outcome


async def record(
    scope: Scope, ticket: Ticket, step: Stage, *, by: Person | None, text: str, at: datetime
) -> CouncilOutcome:
    """Record one step of 四议两公开 for the ticket's item, in order, by someone the settings name for it."""
    repo = CouncilRepo(scope.session)
    item = await item_of(scope, ticket)
    expected = next_step(item.stage)
    if expected is None:
        raise CouncilRefusal(texts.finished(ticket.id))
    if step is not expected:
        raise CouncilRefusal(texts.out_of_order(ticket.id, item.stage, expected))
    roles = scope.settings.council.may_record.roles(step)
    if by is not None and not await may_act(scope, by, item.unit_id, roles):
        raise CouncilRefusal(texts.not_your_step(ticket.id, step, roles))
    words = " ".join(text.split())
    if step is Stage.RESOLUTION_PUBLISHED and not words:
        resolution = await repo.step(item.id, Stage.RESOLUTION)
        words = resolution.text if resolution is not None else ""
    if step in NEEDS_TEXT and not words:
        raise CouncilRefusal(texts.needs_text(ticket.id, step))
    if step is Stage.RESOLUTION:
        running = await VoteRepo(scope.session).running(item.id)
        if running is not None:
            raise CouncilRefusal(texts.vote_running(ticket.id, local(scope, running.deadline)))
    actor, name = _actor(by)
    await repo.record(item, stage=step, actor=actor, actor_name=name, at=at, text=words)
    await scope.tickets.note(ticket, actor=actor, action=f"council:{step}", at=at, note=words)
    messages: list[OutgoingMessage] = []
    if step is Stage.RESOLUTION_PUBLISHED:
        messages += await _publish(scope, item, ticket, texts.resolution_public(ticket.id, item.title, words))
    if step is Stage.RESULT_PUBLISHED:
        await lifecycle.conclude(scope, ticket, actor=actor, at=at, note=words)
        messages += await _publish(scope, item, ticket, texts.result_public(ticket.id, item.title, words))
    messages += await _tell_next(scope, item, ticket, step, by)
    log.info("#%d council step %s recorded by %s", ticket.id, step, actor)
    return CouncilOutcome(texts.recorded(ticket.id, step, next_step(step)), messages)


async def _publish(scope: Scope, item: CouncilItem, ticket: Ticket, text: str) -> list[OutgoingMessage]:
    """``text`` in every group of the item's unit; in the ticket's own group to its reporters by name."""
    out: list[OutgoingMessage] = []
    for group in await groups_under(scope, item.unit_id):
        if (group.platform, group.chat_id) == (ticket.platform, ticket.chat_id):
            out.append(tell_group(ticket, text, mention_reporters=True))
        else:
            out.append(Say(group.platform, group.chat_id, text, ticket=ticket.id, topic=Topic.REPLY))
    if not any(isinstance(m, Say) and (m.platform, m.chat_id) == (ticket.platform, ticket.chat_id) for m in out):
        out.insert(0, tell_group(ticket, text, mention_reporters=True))
    return out


async def describe(session: AsyncSession, ticket_id: int, tz: ZoneInfo) -> dict[str, Any] | None:
    """An item's whole record, for ``linli council show`` and the desk: each step and each vote, with the
    tally recounted from the stored ballots beside the one announced."""
    item = await CouncilRepo(session).of_ticket(ticket_id)
    if item is None:
        return None

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value is not None else None

    steps = [
        {
            "stage": s.stage,
            "title": texts.STEP_TITLES[s.stage],
            "by": s.actor,
            "by_name": s.actor_name,
            "at": iso(s.at),
            "text": s.text,
        }
        for s in await CouncilRepo(session).steps(item.id)
    ]
    votes = []
    for vote in await VoteRepo(session).of_ticket(ticket_id):
        votes.append(
            {
                "id": vote.id,
                "title": vote.title,
                "opened_at": iso(vote.opened_at),
                "opened_by": vote.opened_by,
                "deadline": iso(vote.deadline),
                "rule": vote.rule,
                "households_listed": vote.listed,
                "eligible": vote.eligible,
                "closed_at": iso(vote.closed_at),
                "announced": vote.result,
                "recount": (await recount(session, vote)).as_json(),
            }
        )
    following = next_step(item.stage)
    return {
        "ticket": item.ticket_id,
        "title": item.title,
        "unit": item.unit_id,
        "stage": item.stage,
        "progress": texts.progress(item.stage),
        "next": following.value if following is not None else None,
        "added_at": iso(item.added_at),
        "added_by": item.added_by,
        "suggestion": item.suggestion_id,
        "steps": steps,
        "votes": votes,
    }
