"""Reports: a trivial or major message in a bound group becomes a ticket, routed on the grid."""

from __future__ import annotations

import logging

from bot import texts
from bot.context import Context
from bot.message import DirectMessage, IncomingMessage, OutgoingMessage, Say
from bot.router import Reply, Router
from handlers.routing import address, route
from nlp.decision import Kind
from storage.models import Person

log = logging.getLogger(__name__)

router = Router("reports")


def in_bound_group(msg: IncomingMessage, ctx: Context) -> bool:
    return not msg.is_direct and ctx.unit_id is not None


def is_report(msg: IncomingMessage, ctx: Context) -> bool:
    return ctx.decision.kind in (Kind.TRIVIAL, Kind.MAJOR)


def _dm(person: Person, platform: str, text: str) -> DirectMessage | None:
    target = address(person, platform)
    if target is None:
        log.warning("cannot reach %s (%s): no platform id in the org", person.name, person.id)
        return None
    return DirectMessage(platform=target[0], to=target[1], text=text)


@router.message(in_bound_group, is_report)
async def handle_report(msg: IncomingMessage, ctx: Context) -> Reply:
    assert ctx.group is not None
    assert ctx.unit_id is not None
    decision = ctx.decision
    unit = await ctx.org.unit(ctx.unit_id)
    assert unit is not None
    grid = await route(ctx.org, unit.id)
    summary = texts.summarise(msg.text)
    major = decision.kind is Kind.MAJOR
    ticket = await ctx.tickets.open(
        community_id=unit.community_id,
        unit_id=unit.id,
        platform=msg.platform,
        chat_id=msg.chat_id,
        kind=decision.kind.value,
        urgent=decision.urgent,
        domain=decision.domain.value,
        summary=summary,
        decision=decision.as_json(),
        assignee_id=grid.assignee.id if grid.assignee else None,
        opened_at=msg.time,
        actor=f"{msg.platform}:{msg.sender_id}",
    )
    await ctx.tickets.add_reporter(
        ticket,
        platform=msg.platform,
        sender_id=msg.sender_id,
        sender_name=msg.sender_name,
        person_id=ctx.sender.id if ctx.sender else None,
        at=msg.time,
    )
    ctx.stored.ticket_id = ticket.id

    notified: list[tuple[str, str]] = []
    out: list[OutgoingMessage] = []
    group_name = ctx.group.name or msg.chat_name
    if grid.assignee is not None:
        notified.append((texts.ROLE_TITLES.get(grid.assignee.role, ""), grid.assignee.name))
        task = texts.new_task(ticket.id, ticket.kind, ticket.urgent, group_name, msg.sender_name, summary)
        dm = _dm(grid.assignee, msg.platform, task)
        if dm is not None:
            out.append(dm)
    if major:
        notice = texts.major_notice(
            ticket.id,
            ticket.urgent,
            group_name,
            msg.sender_name,
            summary,
            grid.assignee.name if grid.assignee else "社区",
        )
        for _level, serving in grid.above:
            for person in serving:
                notified.append((texts.ROLE_TITLES.get(person.role, ""), person.name))
                dm = _dm(person, msg.platform, notice)
                if dm is not None:
                    out.append(dm)
    ack = texts.ack_report(msg.sender_name, ticket.id, summary, notified, major=major)
    if decision.urgent:
        e = ctx.settings.emergency
        ack = f"{ack}\n{texts.emergency_advice(e.fire, e.medical, e.police, e.gas, e.duty_phone)}"
    out.insert(0, Say(platform=msg.platform, chat_id=msg.chat_id, text=ack, mentions=(msg.sender_id,)))
    log.info(
        "ticket #%d (%s%s) opened in %s, assignee %s",
        ticket.id,
        ticket.kind,
        ", urgent" if ticket.urgent else "",
        unit.id,
        ticket.assignee_id,
    )
    return out
