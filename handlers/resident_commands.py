"""Residents' commands: 进度, 评价, 撤销 — each on the sender's own tickets."""

from __future__ import annotations

import re

from bot.context import Context
from bot.message import IncomingMessage, OutgoingMessage
from bot.router import Reply, Router
from bot.texts import chat as texts
from bot.texts.names import state_title
from handlers import lifecycle
from handlers.commands import REPORTER, REPORTER_OR_MANAGER, ticket_command
from handlers.common import answer, display_name, in_ticket_group, tell_group
from nlp.command import Verb
from storage.models import Ticket, TicketState

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


def parse_score(argument: str) -> int | None:
    text = argument.strip()
    for word in sorted(WORD_SCORES, key=len, reverse=True):
        if text.startswith(word):
            return WORD_SCORES[word]
    match = re.match(r"^(\d+)\s*(?:分|星)?", text)
    if match and 1 <= int(match.group(1)) <= 5:
        return int(match.group(1))
    return None


async def _progress(ctx: Context, tickets: list[Ticket]) -> str:
    lines = []
    for t in tickets:
        assignee = await ctx.org.person(t.assignee_id) if t.assignee_id else None
        lines.append(texts.progress_line(t.id, t.summary, state_title(t.state), display_name(assignee)))
    return "\n".join(lines)


async def own_progress(msg: IncomingMessage, ctx: Context) -> Reply:
    """进度 without a number: the sender's own reports that are not finished yet."""
    tickets = [
        t
        for t in await ctx.tickets.reported_by(msg.platform, msg.sender_id)
        if t.state in lifecycle.UNFINISHED or t.state == TicketState.RESOLVED
    ]
    if not tickets:
        return [answer(msg, texts.nothing_open())]
    return [answer(msg, await _progress(ctx, tickets))]


@ticket_command(router, Verb.PROGRESS, REPORTER_OR_MANAGER, without_number=own_progress)
async def handle_progress(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    return [answer(msg, await _progress(ctx, [ticket]))]


@ticket_command(router, Verb.WITHDRAW, REPORTER)
async def handle_withdraw(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    actor = ctx.actor(msg.platform, msg.sender_id)
    outcome = await lifecycle.withdraw(
        ctx, ticket, platform=msg.platform, sender_id=msg.sender_id, who=msg.sender_name, actor=actor, at=msg.time
    )
    return [answer(msg, outcome.text), *outcome.notices]


@ticket_command(router, Verb.RATE, REPORTER)
async def handle_rate(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    assert ctx.command is not None
    score = parse_score(ctx.command.argument)
    if score is None:
        return [answer(msg, texts.rating_invalid())]
    if ticket.state != TicketState.RESOLVED:
        return [answer(msg, texts.rating_not_ready(ticket.id))]
    actor = ctx.actor(msg.platform, msg.sender_id)
    outcome = await lifecycle.rate(
        ctx, ticket, score, platform=msg.platform, sender_id=msg.sender_id, actor=actor, at=msg.time
    )
    out: list[OutgoingMessage] = [answer(msg, outcome.text)]
    if not msg.is_direct and not in_ticket_group(msg, ticket):
        out.append(tell_group(ticket, outcome.text))
    return [*out, *outcome.notices]
