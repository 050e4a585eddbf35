"""Leaders' commands: 接单, 办结, 转派, 升级, 不受理, 派单 (one route each), 我的任务, 待办."""

from __future__ import annotations

from sqlalchemy import select

from bot.context import Context
from bot.message import IncomingMessage
from bot.router import Reply, Router
from bot.texts import chat as texts
from bot.texts.names import state_title
from handlers import lifecycle
from handlers.commands import MANAGER, refuse, ticket_command, told
from handlers.common import answer
from nlp.command import Verb
from storage.models import CoUnit, Person, Role, Ticket, TicketState
from storage.ticket_repo import TicketFilter

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
        for person in await ctx.org.all_people():
            if name in (person.name, person.id) and await eligible(person):
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
    units = (await ctx.session.scalars(select(CoUnit).where(CoUnit.community_id == ticket.community_id))).all()
    chosen = next((u for u in units if wanted and (wanted in u.name or wanted == u.id or u.name in wanted)), None)
    if chosen is None:
        return refuse(msg, ctx, texts.dispatch_unknown(wanted))
    leader = _leader(ctx)
    outcome = await lifecycle.dispatch(ctx, ticket, chosen, by=leader.name, actor=leader.id, at=msg.time)
    return told(msg, ticket, outcome)


def _serves(ctx: Context) -> bool:
    return ctx.sender is not None and ctx.sender.role != Role.RESIDENT


async def _open_tasks(ctx: Context, leader: Person) -> list[Ticket]:
    return [t for t in await ctx.tickets.assigned_to(leader.id) if t.state in lifecycle.UNFINISHED]


@router.command(Verb.MINE)
async def handle_mine(msg: IncomingMessage, ctx: Context) -> Reply:
    if not _serves(ctx):
        return refuse(msg, ctx, texts.grid_only())
    leader = _leader(ctx)
    lines = [
        texts.progress_line(t.id, t.summary, state_title(t.state), leader.name) for t in await _open_tasks(ctx, leader)
    ]
    return [answer(msg, texts.task_list(texts.MY_TASKS, lines))]


@router.command(Verb.TODO)
async def handle_todo(msg: IncomingMessage, ctx: Context) -> Reply:
    if not _serves(ctx):
        return refuse(msg, ctx, texts.grid_only())
    leader = _leader(ctx)
    waiting = [t for t in await _open_tasks(ctx, leader) if t.state != TicketState.ACCEPTED]
    for ticket in await ctx.tickets.list(TicketFilter(states=[TicketState.ESCALATED])):
        chain = [u.id for u in await ctx.org.chain(ticket.unit_id)]
        if leader.unit_id in chain[1:] and ticket not in waiting:
            waiting.append(ticket)
    lines = [texts.progress_line(t.id, t.summary, state_title(t.state), t.assignee_id or "-") for t in waiting]
    return [answer(msg, texts.task_list(texts.TODO, lines))]
