"""Leaders' commands: 接单, 办结, 转派, 升级, 不受理, 派单, 我的任务, 待办."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot import texts
from bot.context import Context
from bot.message import IncomingMessage, OutgoingMessage
from bot.router import Reply, Router
from handlers import points
from handlers.common import answer, display_name, find_ticket, in_ticket_group, tell_group
from handlers.escalation import escalate
from handlers.lifecycle import STATE_TITLES, UNFINISHED, Action, IllegalTransition, apply, standing
from handlers.routing import notify
from nlp.command import Verb
from storage.models import CoUnit, Person, Role, Ticket, TicketState
from storage.ticket_repo import TicketFilter

log = logging.getLogger(__name__)

router = Router("leader_commands")

TICKET_VERBS = {
    Verb.ACCEPT: "接单",
    Verb.RESOLVE: "办结",
    Verb.TRANSFER: "转派",
    Verb.ESCALATE: "升级",
    Verb.REJECT: "不受理",
    Verb.DISPATCH: "派单",
}


def is_ticket_command(msg: IncomingMessage, ctx: Context) -> bool:
    return ctx.command is not None and ctx.command.verb in TICKET_VERBS


def is_list_command(msg: IncomingMessage, ctx: Context) -> bool:
    return ctx.command is not None and ctx.command.verb in (Verb.MINE, Verb.TODO)


def refuse(msg: IncomingMessage, ctx: Context, text: str) -> Reply:
    log.info("refused %s from %s:%s: %s", ctx.command, msg.platform, msg.sender_id, text)
    return [answer(msg, text)]


def announce(msg: IncomingMessage, ticket: Ticket, text: str, *, mention_reporters: bool = False) -> Reply:
    """Tell the ticket's group; and the sender too when they wrote from elsewhere (a DM)."""
    out: list[OutgoingMessage] = [tell_group(ticket, text, mention_reporters=mention_reporters)]
    if not in_ticket_group(msg, ticket):
        out.append(answer(msg, text))
    return out


@router.message(is_ticket_command)
async def handle_ticket_command(msg: IncomingMessage, ctx: Context) -> Reply:
    assert ctx.command is not None
    verb = ctx.command.verb
    title = TICKET_VERBS[verb]
    if ctx.command.ticket is None:
        return refuse(msg, ctx, texts.need_number(title))
    ticket = await find_ticket(ctx, ctx.command.ticket)
    if ticket is None:
        return refuse(msg, ctx, texts.not_found(ctx.command.ticket))
    where = await standing(ctx.org, ctx.sender, ticket)
    if not where.may_manage:
        return refuse(msg, ctx, texts.not_allowed(ticket.id, title))
    assert ctx.sender is not None
    try:
        if verb is Verb.ACCEPT:
            return await _accept(msg, ctx, ticket, ctx.sender)
        if verb is Verb.RESOLVE:
            return await _resolve(msg, ctx, ticket, ctx.sender)
        if verb is Verb.TRANSFER:
            return await _transfer(msg, ctx, ticket, ctx.sender)
        if verb is Verb.ESCALATE:
            return await _escalate(msg, ctx, ticket, ctx.sender)
        if verb is Verb.REJECT:
            return await _reject(msg, ctx, ticket, ctx.sender)
        return await _dispatch(msg, ctx, ticket, ctx.sender)
    except IllegalTransition:
        return refuse(msg, ctx, texts.illegal(ticket.id, STATE_TITLES[TicketState(ticket.state)], title))


async def _accept(msg: IncomingMessage, ctx: Context, ticket: Ticket, leader: Person) -> Reply:
    await apply(ctx.tickets, ticket, Action.ACCEPT, actor=leader.id, at=msg.time)
    await points.award_accept(ctx, ticket, leader)
    return announce(msg, ticket, texts.accepted(ticket.id, leader.name, ticket.summary), mention_reporters=True)


async def _resolve(msg: IncomingMessage, ctx: Context, ticket: Ticket, leader: Person) -> Reply:
    assert ctx.command is not None
    note = ctx.command.argument
    await apply(ctx.tickets, ticket, Action.RESOLVE, actor=leader.id, at=msg.time, note=note)
    await points.award(ctx, leader.id, ticket, "resolve", ctx.settings.points.resolve, msg.time)
    return announce(msg, ticket, texts.resolved(ticket.id, leader.name, note), mention_reporters=True)


async def _person_named(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> Person | None:
    assert ctx.command is not None
    for user_id in msg.mentions:
        person = await ctx.org.person_by_identity(msg.platform, user_id)
        if person is not None and person.role != Role.RESIDENT:
            return person
    names = list(ctx.command.mentions) or ([ctx.command.argument] if ctx.command.argument else [])
    for name in names:
        for person in await ctx.org.all_people():
            unit = await ctx.org.unit(person.unit_id)
            if (
                name in (person.name, person.id)
                and person.role != Role.RESIDENT
                and unit is not None
                and unit.community_id == ticket.community_id
            ):
                return person
    return None


async def _transfer(msg: IncomingMessage, ctx: Context, ticket: Ticket, leader: Person) -> Reply:
    assert ctx.command is not None
    if not ctx.command.mentions and not msg.mentions and not ctx.command.argument:
        return refuse(msg, ctx, texts.transfer_needs_target(ticket.id))
    target = await _person_named(msg, ctx, ticket)
    if target is None:
        wanted = ctx.command.mentions[0] if ctx.command.mentions else ctx.command.argument
        return refuse(msg, ctx, texts.transfer_target_unknown(wanted))
    old = await ctx.org.person(ticket.assignee_id) if ticket.assignee_id else None
    await apply(ctx.tickets, ticket, Action.TRANSFER, actor=leader.id, at=msg.time, note=target.id)
    ticket.assignee_id = target.id
    ticket.accepted_at = None
    out = announce(msg, ticket, texts.transferred(ticket.id, display_name(old, leader.name), target.name)) or []
    dm = notify(target, ticket.platform, texts.new_assignment(ticket.id, leader.name, ticket.summary))
    if dm is not None:
        out.append(dm)
    return out


async def _escalate(msg: IncomingMessage, ctx: Context, ticket: Ticket, leader: Person) -> Reply:
    target = await escalate(ctx.org, ctx.tickets, ticket, actor=leader.id, at=msg.time)
    if target is None:
        if ticket.state not in UNFINISHED:
            raise IllegalTransition(ticket, Action.ESCALATE)
        return refuse(msg, ctx, texts.no_higher_level(ticket.id))
    names = "、".join(p.name for p in target.people)
    assignee = await ctx.org.person(ticket.assignee_id) if ticket.assignee_id else None
    out = announce(msg, ticket, texts.escalated(ticket.id, target.level.name, names)) or []
    for person in target.people:
        notice = texts.escalation_notice(ticket.id, ticket.summary, leader.name, display_name(assignee))
        dm = notify(person, ticket.platform, notice)
        if dm is not None:
            out.append(dm)
    return out


async def _reject(msg: IncomingMessage, ctx: Context, ticket: Ticket, leader: Person) -> Reply:
    assert ctx.command is not None
    reason = ctx.command.argument
    if not reason:
        return refuse(msg, ctx, texts.reject_needs_reason(ticket.id))
    await apply(ctx.tickets, ticket, Action.REJECT, actor=leader.id, at=msg.time, note=reason)
    return announce(msg, ticket, texts.rejected(ticket.id, reason), mention_reporters=True)


async def _dispatch(msg: IncomingMessage, ctx: Context, ticket: Ticket, leader: Person) -> Reply:
    assert ctx.command is not None
    wanted = ctx.command.argument
    units = (await ctx.session.scalars(select(CoUnit).where(CoUnit.community_id == ticket.community_id))).all()
    chosen = next((u for u in units if wanted and (wanted in u.name or wanted == u.id or u.name in wanted)), None)
    if chosen is None:
        return refuse(msg, ctx, texts.dispatch_unknown(wanted))
    contact = await ctx.org.person(chosen.contact_id) if chosen.contact_id else None
    await apply(ctx.tickets, ticket, Action.DISPATCH, actor=leader.id, at=msg.time, note=chosen.id)
    ticket.co_unit_id = chosen.id
    if contact is not None:
        ticket.assignee_id = contact.id
        ticket.accepted_at = None
    out = announce(msg, ticket, texts.dispatched(ticket.id, chosen.name, display_name(contact, "联系人待定"))) or []
    if contact is not None:
        group = await ctx.org.group(ticket.platform, ticket.chat_id)
        dm = notify(
            contact,
            ticket.platform,
            texts.dispatch_task(ticket.id, ticket.summary, group.name if group else "", leader.name),
        )
        if dm is not None:
            out.append(dm)
    return out


@router.message(is_list_command)
async def handle_task_list(msg: IncomingMessage, ctx: Context) -> Reply:
    assert ctx.command is not None
    if ctx.sender is None or ctx.sender.role == Role.RESIDENT:
        return refuse(msg, ctx, "这个命令是给楼长和网格工作人员用的；查看您反映的事请发“进度”。")
    mine = [t for t in await ctx.tickets.assigned_to(ctx.sender.id) if t.state in UNFINISHED]
    if ctx.command.verb is Verb.TODO:
        waiting = [t for t in mine if t.state != TicketState.ACCEPTED]
        for ticket in await ctx.tickets.list(TicketFilter(states=[TicketState.ESCALATED])):
            chain = [u.id for u in await ctx.org.chain(ticket.unit_id)]
            if ctx.sender.unit_id in chain[1:] and ticket not in waiting:
                waiting.append(ticket)
        lines = [
            texts.progress_line(t.id, t.summary, STATE_TITLES[TicketState(t.state)], t.assignee_id or "-")
            for t in waiting
        ]
        return [answer(msg, texts.task_list("待办：", lines))]
    lines = [texts.progress_line(t.id, t.summary, STATE_TITLES[TicketState(t.state)], ctx.sender.name) for t in mine]
    return [answer(msg, texts.task_list("我的任务：", lines))]
