"""楼长信箱: a suggestion is stored (not a ticket), acknowledged with the date an answer is due, delivered
to the building's leader, and answered by them (回复建议 #S3 …) back to its sender.

A direct message that starts with 建议 or 信箱, or the command 信箱 内容, is a suggestion; 匿名建议 内容 is
one whose sender the leader is not told (the committee may see it, if the settings allow). The sender's
building is the group they wrote in, the household or unit the org gives them, or else the group they
last wrote in; with none, the community's committee reads it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from bot.context import Context, Scope
from bot.message import DirectMessage, IncomingMessage, OutgoingMessage
from bot.router import Reply, Router
from bot.texts import suggestions as texts
from handlers.commands import refuse
from handlers.common import answer
from handlers.council_grid import home_units, local
from handlers.council_items import CouncilOutcome, CouncilRefusal
from handlers.routing import notify
from nlp.command import Verb, command_body
from storage.council_models import Suggestion
from storage.models import Person, Role
from storage.suggestion_repo import SuggestionRepo

log = logging.getLogger(__name__)

router = Router("suggestions")

LETTER_WORDS = ("建议", "信箱")
_NUMBER = re.compile(r"^[#＃]?\s*[Ss]\s*(\d{1,9})\s*[:：,，]?\s*")


async def _leaders(scope: Scope, unit_id: str | None) -> list[Person]:
    """Who reads a suggestion: the people serving the nearest unit (up the grid) that has anyone."""
    units = [u.id for u in await scope.org.chain(unit_id)] if unit_id else []
    if not units:
        communities = await scope.org.communities()
        units = [communities[0].id] if len(communities) == 1 else []
    for unit in units:
        people = list(await scope.org.responsible(unit))
        if people:
            return people
    return []


async def receive(
    scope: Scope,
    *,
    platform: str,
    sender_id: str,
    sender_name: str,
    person: Person | None,
    unit_id: str | None,
    text: str,
    anonymous: bool,
    domain: str,
    at: datetime,
    message_id: str = "",
) -> CouncilOutcome:
    """Store a suggestion, deliver it to the leader(s) of the sender's building, and say when they will answer."""
    leaders = await _leaders(scope, unit_id)
    unit = await scope.org.unit(unit_id) if unit_id else None
    home = unit or (await scope.org.unit(leaders[0].unit_id) if leaders else None)
    community = home.community_id if home is not None else None
    due = at + scope.settings.council.suggestions.reply_within
    suggestion = await SuggestionRepo(scope.session).add(
        Suggestion(
            community_id=community,
            unit_id=unit_id,
            platform=platform,
            sender_id=sender_id,
            sender_name=sender_name,
            person_id=person.id if person is not None else None,
            anonymous=anonymous,
            text=text,
            domain=domain,
            at=at,
            due_at=due,
            message_id=message_id,
            leaders=[p.id for p in leaders],
        )
    )
    where = unit.name if unit is not None else texts.UNKNOWN_PLACE
    sender = texts.ANONYMOUS if anonymous else sender_name or sender_id
    letter = texts.to_leader(suggestion.id, where, sender, text, local(scope, due))
    messages: list[OutgoingMessage] = []
    for leader in leaders:
        dm = notify(leader, platform, letter, ticket=None, hold=True)
        if dm is not None:
            messages.append(dm)
    names = "、".join(p.name for p in leaders) or texts.COMMUNITY
    log.info("suggestion #S%d from %s:%s delivered to %s", suggestion.id, platform, sender_id, names)
    return CouncilOutcome(texts.received(suggestion.id, names, local(scope, due), anonymous), messages)


async def may_answer(scope: Scope, person: Person | None, suggestion: Suggestion) -> bool:
    if person is None or not person.active or person.role == Role.RESIDENT:
        return False
    if person.id in suggestion.leaders:
        return True
    if suggestion.unit_id is None:
        return person.role == Role.COMMITTEE
    return person.unit_id in [u.id for u in await scope.org.chain(suggestion.unit_id)]


async def reply(scope: Scope, suggestion: Suggestion, *, by: Person | None, text: str, at: datetime) -> CouncilOutcome:
    """The leader's answer, sent to whoever wrote the suggestion (anonymous or not)."""
    if by is not None and not await may_answer(scope, by, suggestion):
        raise CouncilRefusal(texts.not_allowed(suggestion.id))
    words = text.strip()
    if not words:
        raise CouncilRefusal(texts.answer_empty(suggestion.id))
    suggestion.answer, suggestion.answered_at = words, at
    suggestion.answered_by = by.id if by is not None else "staff"
    leader = by.name if by is not None else texts.COMMUNITY
    back = texts.answer_to_sender(suggestion.id, suggestion.text, leader, words)
    message = DirectMessage(suggestion.platform, suggestion.sender_id, back, hold=True)
    log.info("suggestion #S%d answered by %s", suggestion.id, suggestion.answered_by)
    return CouncilOutcome(texts.answer_sent(suggestion.id), [message])


# --- chat ---------------------------------------------------------------------------------------------------


async def _from_chat(msg: IncomingMessage, ctx: Context, text: str, *, anonymous: bool, verb: str) -> Reply:
    if not text:
        return refuse(msg, ctx, texts.empty(verb))
    units = [ctx.unit_id] if ctx.unit_id else await home_units(ctx, msg.platform, msg.sender_id, ctx.sender)
    outcome = await receive(
        ctx,
        platform=msg.platform,
        sender_id=msg.sender_id,
        sender_name=msg.sender_name,
        person=ctx.sender,
        unit_id=units[0] if units else None,
        text=text,
        anonymous=anonymous,
        domain=ctx.decision.domain.value,
        at=msg.time,
        message_id=msg.message_id,
    )
    said = outcome.text if msg.is_direct or not anonymous else f"{outcome.text}{texts.anonymous_in_group()}"
    return [answer(msg, said), *outcome.messages]


def _letter(msg: IncomingMessage, ctx: Context) -> bool:
    return msg.is_direct and ctx.command is None and msg.text.lstrip().startswith(LETTER_WORDS)


@router.message(_letter)
async def handle_letter(msg: IncomingMessage, ctx: Context) -> Reply:
    """A direct message starting with 建议 or 信箱."""
    body = msg.text.lstrip()
    word = next(w for w in LETTER_WORDS if body.startswith(w))
    text = body[len(word) :].lstrip(":：,， ").strip()
    return await _from_chat(msg, ctx, text, anonymous=False, verb=word)


@router.command(Verb.MAILBOX)
async def handle_mailbox(msg: IncomingMessage, ctx: Context) -> Reply:
    return await _from_chat(msg, ctx, command_body(msg.text, Verb.MAILBOX), anonymous=False, verb=Verb.MAILBOX.value)


@router.command(Verb.ANONYMOUS)
async def handle_anonymous(msg: IncomingMessage, ctx: Context) -> Reply:
    text = command_body(msg.text, Verb.ANONYMOUS)
    return await _from_chat(msg, ctx, text, anonymous=True, verb=Verb.ANONYMOUS.value)


@router.command(Verb.ANSWER)
async def handle_answer(msg: IncomingMessage, ctx: Context) -> Reply:
    body = command_body(msg.text, Verb.ANSWER)
    match = _NUMBER.match(body)
    if match is None:
        return refuse(msg, ctx, texts.answer_empty(None))
    suggestion = await SuggestionRepo(ctx.session).get(int(match.group(1)))
    if suggestion is None or not await may_answer(ctx, ctx.sender, suggestion):
        if suggestion is not None and ctx.sender is not None and ctx.sender.role != Role.RESIDENT:
            return refuse(msg, ctx, texts.not_allowed(suggestion.id))
        return refuse(msg, ctx, texts.unknown(f"#S{match.group(1)}"))
    try:
        outcome = await reply(ctx, suggestion, by=ctx.sender, text=body[match.end() :], at=msg.time)
    except CouncilRefusal as refusal:
        return refuse(msg, ctx, refusal.text)
    return [answer(msg, outcome.text), *outcome.messages]
