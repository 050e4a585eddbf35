"""Residents' commands: 进度, 评价, 撤销 — each on the sender's own tickets."""

from __future__ import annotations

import logging
import re

from bot import texts
from bot.context import Context
from bot.message import IncomingMessage, OutgoingMessage
from bot.router import Filter, Reply, Router
from handlers import points
from handlers.common import answer, display_name, find_ticket, tell_group
from handlers.lifecycle import STATE_TITLES, UNFINISHED, Action, IllegalTransition, apply, is_reporter, standing
from handlers.routing import notify
from nlp.command import Verb
from storage.models import Rating, TicketState

log = logging.getLogger(__name__)

router = Router("resident_commands")

WORD_SCORES = {
    "非常满意": 5,
    "很满意": 5,
    "满意": 5,
    "基本满意": 4,
    "一般": 3,
    "不太满意": 2,
    "不满意": 1,
    "很不满意": 1,
    "差评": 1,
    "好评": 5,
}
GOOD, BAD = 4, 2


def parse_score(argument: str) -> int | None:
    text = argument.strip()
    for word in sorted(WORD_SCORES, key=len, reverse=True):
        if text.startswith(word):
            return WORD_SCORES[word]
    match = re.match(r"^(\d+)\s*(?:分|星)?", text)
    if match and 1 <= int(match.group(1)) <= 5:
        return int(match.group(1))
    return None


def verb_is(*verbs: Verb) -> Filter:
    def check(msg: IncomingMessage, ctx: Context) -> bool:
        return ctx.command is not None and ctx.command.verb in verbs

    return check


@router.message(verb_is(Verb.PROGRESS))
async def handle_progress(msg: IncomingMessage, ctx: Context) -> Reply:
    assert ctx.command is not None
    if ctx.command.ticket is not None:
        ticket = await find_ticket(ctx, ctx.command.ticket)
        allowed = ticket is not None and (
            is_reporter(ticket, msg.platform, msg.sender_id) or (await standing(ctx.org, ctx.sender, ticket)).may_manage
        )
        if ticket is None or not allowed:
            return [answer(msg, texts.not_found(ctx.command.ticket))]
        tickets = [ticket]
    else:
        tickets = [
            t
            for t in await ctx.tickets.reported_by(msg.platform, msg.sender_id)
            if t.state in UNFINISHED or t.state == TicketState.RESOLVED
        ]
        if not tickets:
            return [answer(msg, texts.nothing_open())]
    lines = []
    for t in tickets:
        assignee = await ctx.org.person(t.assignee_id) if t.assignee_id else None
        lines.append(texts.progress_line(t.id, t.summary, STATE_TITLES[TicketState(t.state)], display_name(assignee)))
    return [answer(msg, "\n".join(lines))]


@router.message(verb_is(Verb.RATE, Verb.WITHDRAW))
async def handle_own_ticket(msg: IncomingMessage, ctx: Context) -> Reply:
    assert ctx.command is not None
    verb = ctx.command.verb
    if ctx.command.ticket is None:
        return [answer(msg, texts.need_number(verb.value))]
    ticket = await find_ticket(ctx, ctx.command.ticket)
    if ticket is None:
        return [answer(msg, texts.not_found(ctx.command.ticket))]
    if not is_reporter(ticket, msg.platform, msg.sender_id):
        log.info("refused %s on #%d from %s:%s (not a reporter)", verb, ticket.id, msg.platform, msg.sender_id)
        return [answer(msg, texts.not_yours(ticket.id))]
    actor = ctx.actor(msg.platform, msg.sender_id)
    assignee = await ctx.org.person(ticket.assignee_id) if ticket.assignee_id else None
    if verb is Verb.WITHDRAW:
        try:
            await apply(ctx.tickets, ticket, Action.WITHDRAW, actor=actor, at=msg.time)
        except IllegalTransition:
            return [answer(msg, texts.illegal(ticket.id, STATE_TITLES[TicketState(ticket.state)], "撤销"))]
        out: list[OutgoingMessage] = [answer(msg, texts.withdrawn(ticket.id))]
        if assignee is not None:
            dm = notify(assignee, ticket.platform, texts.withdrawn_notice(ticket.id, msg.sender_name))
            if dm is not None:
                out.append(dm)
        return out

    score = parse_score(ctx.command.argument)
    if score is None:
        return [answer(msg, texts.rating_invalid())]
    if ticket.state != TicketState.RESOLVED:
        return [answer(msg, texts.rating_not_ready(ticket.id))]
    ctx.session.add(
        Rating(ticket_id=ticket.id, platform=msg.platform, sender_id=msg.sender_id, score=score, at=msg.time)
    )
    if score <= BAD:
        await apply(ctx.tickets, ticket, Action.REOPEN, actor=actor, at=msg.time, note=f"rating {score}")
        out = [answer(msg, texts.rated_badly(ticket.id))]
        if assignee is not None:
            await points.award(ctx, assignee.id, ticket, "bad_rating", ctx.settings.points.bad_rating, msg.time)
            dm = notify(assignee, ticket.platform, texts.bad_rating_notice(ticket.id, ticket.summary, score))
            if dm is not None:
                out.append(dm)
        return out
    await apply(ctx.tickets, ticket, Action.CLOSE, actor=actor, at=msg.time, note=f"rating {score}")
    if assignee is not None and score >= GOOD:
        await points.award(ctx, assignee.id, ticket, "good_rating", ctx.settings.points.good_rating, msg.time)
    reply = answer(msg, texts.rated(ticket.id, score))
    return (
        [reply]
        if msg.is_direct or (msg.platform, msg.chat_id) == (ticket.platform, ticket.chat_id)
        else [reply, tell_group(ticket, texts.rated(ticket.id, score))]
    )
