"""The grid corrects and verifies: 确认紧急, 不紧急, 紧急, 改为大事, 改为小事, 不是问题, 改领域 (one route each).

The assignee or anyone above them on the grid may use them, in the group or by direct message. A pending
check is answered by 确认紧急 / 紧急 (urgent) or 不紧急; otherwise each verb is a correction of the
ticket's labels, recorded for the digest and for training (``linli nlp corrections``).
"""

from __future__ import annotations

from bot.context import Context
from bot.message import IncomingMessage
from bot.router import Reply, Router
from bot.texts import alarm as alarm_texts
from bot.texts import correction as texts
from config.schedule import DOMAINS
from handlers import lifecycle
from handlers.commands import MANAGER, refuse, ticket_command, told
from handlers.common import answer
from handlers.labels import Change, find_domain
from nlp.command import Verb
from storage.models import CheckState, Person, Ticket

router = Router("corrections")


def _by(ctx: Context) -> Person:
    """The sender, known to be on the grid once MANAGER has allowed the command."""
    assert ctx.sender is not None
    return ctx.sender


async def _correct(msg: IncomingMessage, ctx: Context, ticket: Ticket, change: Change, domain: str = "") -> Reply:
    outcome = await lifecycle.correct(ctx, ticket, change, by=_by(ctx), at=msg.time, domain=domain)
    return told(msg, ticket, outcome)


async def _answer(msg: IncomingMessage, ctx: Context, ticket: Ticket, *, urgent: bool) -> Reply:
    outcome = await lifecycle.answer_check(ctx, ticket, urgent=urgent, by=_by(ctx), at=msg.time)
    if outcome is None:
        return refuse(msg, ctx, alarm_texts.check_settled(ticket.id, ticket.check_state or ""))
    return told(msg, ticket, outcome)


async def _make_urgent(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    if ticket.check_state == CheckState.PENDING:
        return await _answer(msg, ctx, ticket, urgent=True)
    if ticket.urgent:
        return [answer(msg, alarm_texts.already_urgent(ticket.id))]
    return await _correct(msg, ctx, ticket, Change.URGENT)


@ticket_command(router, Verb.CONFIRM_URGENT, MANAGER)
async def handle_confirm_urgent(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    return await _make_urgent(msg, ctx, ticket)


@ticket_command(router, Verb.URGENT, MANAGER)
async def handle_urgent(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    return await _make_urgent(msg, ctx, ticket)


@ticket_command(router, Verb.NOT_URGENT, MANAGER)
async def handle_not_urgent(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    # An answer to the check, even one that comes after the time ran out; else a correction.
    if ticket.check_state in (CheckState.PENDING, CheckState.UNANSWERED):
        return await _answer(msg, ctx, ticket, urgent=False)
    if not ticket.urgent:
        return [answer(msg, alarm_texts.not_urgent_already(ticket.id))]
    return await _correct(msg, ctx, ticket, Change.NOT_URGENT)


@ticket_command(router, Verb.MAKE_MAJOR, MANAGER)
async def handle_make_major(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    return await _correct(msg, ctx, ticket, Change.MAJOR)


@ticket_command(router, Verb.MAKE_TRIVIAL, MANAGER)
async def handle_make_trivial(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    return await _correct(msg, ctx, ticket, Change.TRIVIAL)


@ticket_command(router, Verb.NOT_AN_ISSUE, MANAGER)
async def handle_not_an_issue(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    return await _correct(msg, ctx, ticket, Change.NOISE)


@ticket_command(router, Verb.CHANGE_DOMAIN, MANAGER)
async def handle_change_domain(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    assert ctx.command is not None
    wanted = ctx.command.argument
    if not wanted:
        return refuse(msg, ctx, texts.domain_needed(ticket.id))
    domain = find_domain(wanted)
    if domain is None:
        return refuse(msg, ctx, texts.unknown_domain(wanted, DOMAINS))
    return await _correct(msg, ctx, ticket, Change.DOMAIN, domain)
