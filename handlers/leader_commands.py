"""Leaders' commands: 接单, 办结, 转派, 升级, 不受理, 派单 (one route each), 我的任务, 待办."""

from __future__ import annotations

from bot.context import Context
from bot.message import IncomingMessage
from bot.router import Reply, Router
from bot.texts import chat as texts
from bot.texts.names import state_title
from handlers import lifecycle
from handlers.commands import MANAGER, refuse, ticket_command, told
from handlers.common import answer
from nlp.command import Verb
from storage.models import Person, Role, Ticket, TicketState

router = Router("leader_commands")


def _leader(ctx: Context) -> Person:
    """The sender, known to be on the grid once MANAGER (or ``_serves``) has allowed the command."""
    assert ctx.sender is not None
    return ctx.sender


def _argument(ctx: Context) -> str:
    assert ctx.command is not None
    return ctx.command.argument


@ticket_command(router, Verb.ACCEPT, MANAGER)
async def handle_accept(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    return told(msg, ticket, await lifecycle.accept(ctx, ticket, _leader(ctx), msg.time))


@ticket_command(router, Verb.RESOLVE, MANAGER)
async def handle_resolve(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    return told(msg, ticket, await lifecycle.resolve(ctx, ticket, _leader(ctx), msg.time, _argument(ctx)))


async def _person_named(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Person | None:
    """The person on the ticket's community grid the command @-mentions or names; None if there is none."""
    assert ctx.command is not None

    async def eligible(person: Person | None) -> bool:
        return (
            person is not None
            and person.role != Role.RESIDENT
            and await lifecycle.serves_community(ctx.org, person, ticket.community_id)
        )

    for user_id in msg.mentions:
        person = await ctx.org.person_by_identity(msg.platform, user_id)
        if await eligible(person):
            return person
    names = list(ctx.command.mentions) or ([ctx.command.argument] if ctx.command.argument else [])
    for name in names:
        person = await ctx.org.serving_named(name, ticket.community_id)
        if await eligible(person):
            return person
    return None


@ticket_command(router, Verb.TRANSFER, MANAGER)
async def handle_transfer(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    assert ctx.command is not None
    if not ctx.command.mentions and not msg.mentions and not ctx.command.argument:
        return refuse(msg, ctx, texts.transfer_needs_target(ticket.id))
    target = await _person_named(msg, ctx, ticket)
    if target is None:
        wanted = ctx.command.mentions[0] if ctx.command.mentions else ctx.command.argument
        return refuse(msg, ctx, texts.transfer_target_unknown(wanted))
    leader = _leader(ctx)
    try:
        outcome = await lifecycle.transfer(ctx, ticket, target, by=leader.name, actor=leader.id, at=msg.time)
    except lifecycle.OutsideCommunity:
        return refuse(msg, ctx, texts.transfer_target_unknown(target.name))
    return told(msg, ticket, outcome)


@ticket_command(router, Verb.ESCALATE, MANAGER)
async def handle_escalate(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    leader = _leader(ctx)
    escalation = await lifecycle.escalate(ctx, ticket, by=leader.name, actor=leader.id, at=msg.time)
    if escalation is None:
        return refuse(msg, ctx, texts.no_higher_level(ticket.id))
    return told(msg, ticket, escalation.outcome)


@ticket_command(router, Verb.REJECT, MANAGER)
async def handle_reject(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    reason = _argument(ctx)
    if not reason:
        return refuse(msg, ctx, texts.reject_needs_reason(ticket.id))
    outcome = await lifecycle.reject(ctx, ticket, actor=_leader(ctx).id, at=msg.time, reason=reason)
    return told(msg, ticket, outcome)


@ticket_command(router, Verb.DISPATCH, MANAGER)
async def handle_dispatch(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Reply:
    wanted = _argument(ctx)
    units = await ctx.org.co_units(ticket.community_id)
    chosen = next((u for u in units if wanted and (wanted in u.name or wanted == u.id or u.name in wanted)), None)
    if chosen is None:
        return refuse(msg, ctx, texts.dispatch_unknown(wanted))
    leader = _leader(ctx)
    outcome = await lifecycle.dispatch(ctx, ticket, chosen, by=leader.name, actor=leader.id, at=msg.time)
    return told(msg, ticket, outcome)


def _serves(ctx: Context) -> bool:
    return ctx.sender is not None and ctx.sender.role != Role.RESIDENT


LISTED = 20
"""Tickets listed in one answer to 我的任务 or 待办; the rest are counted."""
WAITING = tuple(s for s in lifecycle.UNFINISHED if s != TicketState.ACCEPTED)


@router.command(Verb.MINE)
async def handle_mine(msg: IncomingMessage, ctx: Context) -> Reply:
    if not _serves(ctx):
        return refuse(msg, ctx, texts.grid_only())
    leader = _leader(ctx)
    page = await ctx.tickets.assigned_open(leader.id, sorted(lifecycle.UNFINISHED), LISTED)
    lines = [texts.progress_line(t.id, t.summary, state_title(t.state), leader.name) for t in page.tickets]
    return [answer(msg, texts.task_list(texts.MY_TASKS, lines, page.more, page.at_least))]


@router.command(Verb.TODO)
async def handle_todo(msg: IncomingMessage, ctx: Context) -> Reply:
    """What waits for the sender: their own tasks nobody has accepted, and escalated tickets below them."""
    if not _serves(ctx):
        return refuse(msg, ctx, texts.grid_only())
    leader = _leader(ctx)
    own = await ctx.tickets.assigned_open(leader.id, sorted(WAITING), LISTED)
    below = (await ctx.org.subtree(leader.unit_id))[1:]
    escalated = await ctx.tickets.escalated_in(
        below, max(1, LISTED - len(own.tickets)), besides=[t.id for t in own.tickets]
    )
    waiting = [*own.tickets, *escalated.tickets][:LISTED]
    more = own.more + escalated.total - (len(waiting) - len(own.tickets))
    lines = [texts.progress_line(t.id, t.summary, state_title(t.state), t.assignee_id or "-") for t in waiting]
    return [answer(msg, texts.task_list(texts.TODO, lines, more, own.at_least or escalated.at_least))]
