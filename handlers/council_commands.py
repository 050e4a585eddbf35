"""Chat commands of the 党群议事会: 上会, the steps of 四议两公开, 发起表决, 表决结果, and the ballots
(同意 / 反对 / 弃权, or 1 / 2 / 3 while a vote is running). One route per verb; the actions are in
``handlers.council_items`` and ``handlers.votes``.

Words such as 提议 or 同意 also occur in ordinary chat: a step verb from someone with no place on the grid
or the council, or a ballot word when no vote is running in the group, is left to the other handlers.
"""

from __future__ import annotations

import re
import unicodedata

from bot.context import Context
from bot.message import IncomingMessage, OutgoingMessage
from bot.router import Reply, Router
from bot.texts import chat as chat_texts
from bot.texts import council as texts
from bot.texts import suggestions as suggestion_texts
from bot.texts import votes as vote_texts
from config.council import Stage
from config.rooms import RoomRef, parse_room
from handlers import council_items, votes
from handlers.commands import refuse
from handlers.common import answer, find_ticket
from handlers.council_grid import has_council_standing, local
from handlers.council_items import CouncilOutcome, CouncilRefusal
from handlers.tally import ABSTAIN, AGREE, OPPOSE
from nlp.command import Verb, command_body
from storage.council_models import Vote
from storage.council_repo import CouncilRepo
from storage.models import Ticket
from storage.suggestion_repo import SuggestionRepo
from storage.vote_repo import VoteRepo

router = Router("council")

STEP_VERBS = {
    Verb.PROPOSE: Stage.PROPOSAL,
    Verb.CONSULT: Stage.CONSULTATION,
    Verb.REVIEW: Stage.REVIEW,
    Verb.DECIDE: Stage.RESOLUTION,
    Verb.PUBLISH_DECISION: Stage.RESOLUTION_PUBLISHED,
    Verb.PUBLISH_RESULT: Stage.RESULT_PUBLISHED,
}
BALLOT_VERBS = {Verb.AGREE: AGREE, Verb.OPPOSE: OPPOSE, Verb.ABSTAIN: ABSTAIN}
DIGITS = {"1": (AGREE, Verb.AGREE), "2": (OPPOSE, Verb.OPPOSE), "3": (ABSTAIN, Verb.ABSTAIN)}

_NUMBER = re.compile(r"^[#＃]\s*([0-9０-９]{1,9})\s*")
_SUGGESTION = re.compile(r"^[#＃]?\s*[Ss]\s*(\d{1,9})\b")
_DEADLINE = re.compile(r"\s*截[止至]\s*[:：]?\s*")
_DIGIT_BALLOT = re.compile(r"^([123])(?:\s+(.+))?$")


def _without_number(body: str) -> tuple[int | None, str]:
    """A leading ticket number of a command's body, and the rest."""
    match = _NUMBER.match(body)
    if match is None:
        return None, body.strip()
    return int(unicodedata.normalize("NFKC", match.group(1))), body[match.end() :].strip()


def _told(msg: IncomingMessage, outcome: CouncilOutcome) -> Reply:
    out: list[OutgoingMessage] = [answer(msg, outcome.text)]
    return out + outcome.messages


async def _ticket(msg: IncomingMessage, ctx: Context, number: int | None, verb: Verb) -> Ticket | Reply:
    if number is None:
        return refuse(msg, ctx, chat_texts.need_number(verb.value))
    ticket = await find_ticket(ctx, number)
    if ticket is None:
        return refuse(msg, ctx, chat_texts.not_found(number))
    return ticket


@router.command(Verb.COUNCIL_ADD)
async def handle_council_add(msg: IncomingMessage, ctx: Context) -> Reply:
    assert ctx.command is not None
    if not await has_council_standing(ctx, ctx.sender):
        return refuse(msg, ctx, texts.not_allowed_add(ctx.settings.council.may_record.add))
    body = command_body(msg.text, Verb.COUNCIL_ADD)
    try:
        suggestion = _SUGGESTION.match(body)
        if ctx.command.ticket is None and suggestion is not None:
            found = await SuggestionRepo(ctx.session).get(int(suggestion.group(1)))
            if found is None or not await _same_community(ctx, found.community_id):
                return refuse(msg, ctx, suggestion_texts.unknown(f"#S{suggestion.group(1)}"))
            return _told(msg, await council_items.add_suggestion(ctx, found, by=ctx.sender, at=msg.time))
        if ctx.command.ticket is None:
            return refuse(msg, ctx, texts.needs_number())
        ticket = await _ticket(msg, ctx, ctx.command.ticket, Verb.COUNCIL_ADD)
        if not isinstance(ticket, Ticket):
            return ticket
        return _told(msg, await council_items.add_ticket(ctx, ticket, by=ctx.sender, at=msg.time))
    except CouncilRefusal as refusal:
        return refuse(msg, ctx, refusal.text)


async def _same_community(ctx: Context, community_id: str | None) -> bool:
    if ctx.sender is None:
        return False
    own = await ctx.org.unit(ctx.sender.unit_id)
    return own is not None and (community_id is None or own.community_id == community_id)


def _step_route(verb: Verb, step: Stage) -> None:
    @router.command(verb)
    async def handle_step(msg: IncomingMessage, ctx: Context) -> Reply:
        if not await has_council_standing(ctx, ctx.sender):
            return None
        number, text = _without_number(command_body(msg.text, verb))
        assert ctx.command is not None
        ticket = await _ticket(msg, ctx, number if number is not None else ctx.command.ticket, verb)
        if not isinstance(ticket, Ticket):
            return ticket
        try:
            outcome = await council_items.record(ctx, ticket, step, by=ctx.sender, text=text, at=msg.time)
        except CouncilRefusal as refusal:
            return refuse(msg, ctx, refusal.text)
        return _told(msg, outcome)

    handle_step.__name__ = handle_step.__qualname__ = f"handle_{step.value}"


for _verb, _step in STEP_VERBS.items():
    _step_route(_verb, _step)


@router.command(Verb.START_VOTE)
async def handle_start_vote(msg: IncomingMessage, ctx: Context) -> Reply:
    if not await has_council_standing(ctx, ctx.sender):
        return refuse(msg, ctx, vote_texts.not_allowed(texts.who(ctx.settings.council.votes.may_start)))
    assert ctx.command is not None
    number, rest = _without_number(command_body(msg.text, Verb.START_VOTE))
    ticket = await _ticket(msg, ctx, number if number is not None else ctx.command.ticket, Verb.START_VOTE)
    if not isinstance(ticket, Ticket):
        return ticket
    parts = _DEADLINE.split(rest, maxsplit=1)
    title, when = (parts[0], parts[1]) if len(parts) == 2 else (rest, "")
    deadline = None
    if when.strip():
        deadline = votes.parse_deadline(when, local(ctx, msg.time))
        if deadline is None:
            return refuse(msg, ctx, vote_texts.bad_deadline(when.strip()))
    try:
        outcome = await votes.start(ctx, ticket, by=ctx.sender, title=title, deadline=deadline, at=msg.time)
    except CouncilRefusal as refusal:
        return refuse(msg, ctx, refusal.text)
    return _told(msg, outcome)


async def _vote_of(msg: IncomingMessage, ctx: Context, number: int) -> Vote | Reply:
    """The latest vote on ticket ``number``, or the refusal: no such ticket, not a council item, no vote."""
    ticket = await find_ticket(ctx, number)
    if ticket is None:
        return refuse(msg, ctx, chat_texts.not_found(number))
    if await CouncilRepo(ctx.session).of_ticket(ticket.id) is None:
        return refuse(msg, ctx, texts.not_item(number))
    vote = await VoteRepo(ctx.session).latest(ticket.id)
    if vote is None:
        return refuse(msg, ctx, vote_texts.no_vote_on(number))
    return vote


def _voter(msg: IncomingMessage, ctx: Context) -> votes.Voter:
    return votes.Voter(
        platform=msg.platform,
        sender_id=msg.sender_id,
        sender_name=msg.sender_name,
        person=ctx.sender,
        group_unit=None if msg.is_direct else ctx.unit_id,
        message_id=msg.message_id,
    )


async def _ballot(
    msg: IncomingMessage, ctx: Context, choice: str, verb: Verb, number: int | None, room: RoomRef | None
) -> Reply:
    """Cast a ballot in the vote the sender means; None when no vote is running where they wrote."""
    voter = _voter(msg, ctx)
    if number is not None:
        found = await _vote_of(msg, ctx, number)
        if not isinstance(found, Vote):
            return found
        vote = found
    else:
        running = await votes.votes_for(ctx, voter)
        if not running:
            return [answer(msg, vote_texts.no_vote())] if msg.is_direct else None
        if len(running) > 1:
            return refuse(msg, ctx, vote_texts.which_vote([v.ticket_id for v in running]))
        vote = running[0]
    try:
        said = await votes.cast(ctx, vote, choice, voter, room=room, at=msg.time, verb=verb.value)
    except CouncilRefusal as refusal:
        return refuse(msg, ctx, refusal.text)
    return [answer(msg, said)]


def _ballot_route(verb: Verb, choice: str) -> None:
    @router.command(verb)
    async def handle_ballot(msg: IncomingMessage, ctx: Context) -> Reply:
        number, rest = _without_number(command_body(msg.text, verb))
        room = parse_room(rest) if rest else None
        if rest and room is None:
            return None  # "同意 楼上说的": chat, not a ballot
        return await _ballot(msg, ctx, choice, verb, number, room)

    handle_ballot.__name__ = handle_ballot.__qualname__ = f"handle_{choice}"


for _verb, _choice in BALLOT_VERBS.items():
    _ballot_route(_verb, _choice)


def _digit_ballot(msg: IncomingMessage, ctx: Context) -> bool:
    if ctx.command is not None or msg.content_type != "text":
        return False
    match = _DIGIT_BALLOT.match(" ".join(unicodedata.normalize("NFKC", msg.text).split()))
    return match is not None and (match.group(2) is None or parse_room(match.group(2)) is not None)


@router.message(_digit_ballot)
async def handle_digit_ballot(msg: IncomingMessage, ctx: Context) -> Reply:
    """1, 2 or 3 (with a room, if need be) is a ballot while a vote runs where it was said; chat otherwise."""
    match = _DIGIT_BALLOT.match(" ".join(unicodedata.normalize("NFKC", msg.text).split()))
    assert match is not None
    choice, verb = DIGITS[match.group(1)]
    room = parse_room(match.group(2)) if match.group(2) else None
    if not await votes.votes_for(ctx, _voter(msg, ctx)):
        return None
    return await _ballot(msg, ctx, choice, verb, None, room)


@router.command(Verb.VOTE_COUNT)
async def handle_vote_count(msg: IncomingMessage, ctx: Context) -> Reply:
    assert ctx.command is not None
    number, _ = _without_number(command_body(msg.text, Verb.VOTE_COUNT))
    number = number if number is not None else ctx.command.ticket
    if number is not None:
        found = await _vote_of(msg, ctx, number)
        if not isinstance(found, Vote):
            return found
        vote = found
    else:
        running = await votes.votes_for(ctx, _voter(msg, ctx))
        if not running:
            return refuse(msg, ctx, vote_texts.no_vote())
        if len(running) > 1:
            return refuse(msg, ctx, vote_texts.which_vote([v.ticket_id for v in running]))
        vote = running[0]
    return [answer(msg, await votes.count_text(ctx, vote))]
