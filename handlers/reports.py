"""Reports: a trivial or major message in a bound group becomes a ticket, routed on the grid.

A report that repeats an unfinished ticket from the same building (same service area, similar words,
within the merge window) joins it instead, unless it raises an alarm the ticket does not carry; enough
households reporting one ticket make it major. A ``check`` (possible danger to a person) asks the
accountable leader to verify now (handlers/checks.py times the answer); with nobody to ask, it is urgent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import Context
from bot.message import IncomingMessage, OutgoingMessage, Say
from bot.router import Reply, Router
from bot.texts import alarm as alarm_texts
from bot.texts import chat as texts
from bot.texts.names import ROLE_TITLES, summarise
from handlers import lifecycle
from handlers.hotlines import emergency_advice
from handlers.lifecycle import households, may_wait
from handlers.routing import Route, address, notify, route
from nlp.decision import Decision, Kind
from nlp.similarity import similarity
from storage.models import CheckState, Ticket, Unit
from storage.ticket_repo import MergeCandidate

log = logging.getLogger(__name__)

router = Router("reports")


def in_bound_group(msg: IncomingMessage, ctx: Context) -> bool:
    return not msg.is_direct and ctx.unit_id is not None


def is_report(msg: IncomingMessage, ctx: Context) -> bool:
    return ctx.decision.kind in (Kind.TRIVIAL, Kind.MAJOR)


async def similar_open_ticket(ctx: Context, msg: IncomingMessage, unit: Unit) -> Ticket | None:
    """The unfinished ticket of the same unit and service area, opened within the merge window, whose
    summary reads most like the report (one indexed query: only id and summary of those few tickets)."""
    settings = ctx.settings.tickets
    since = msg.time - timedelta(hours=settings.merge_window_hours)
    best: tuple[float, int] | None = None
    for candidate in await ctx.tickets.merge_candidates(unit.id, ctx.decision.domain.value, since):
        if not carries_alarm(candidate, ctx.decision):
            continue
        score = similarity(msg.text, candidate.summary)
        if score >= settings.merge_similarity and (best is None or score > best[0]):
            best = (score, candidate.id)
    return await ctx.tickets.get(best[1], for_update=True) if best else None


def carries_alarm(ticket: Ticket | MergeCandidate, decision: Decision) -> bool:
    """Whether ``ticket`` is at least as alarmed as a new report with ``decision``: an urgent report never
    disappears into a ticket that is not urgent, nor a check into one that nobody is checking."""
    if decision.urgent:
        return ticket.urgent
    if decision.check:
        return ticket.urgent or ticket.check_state in (CheckState.PENDING, CheckState.UNANSWERED)
    return True


async def co_unit_hint(ctx: Context, ticket: Ticket, text: str) -> str:
    units = await ctx.org.co_units(ticket.community_id)
    lowered = text.lower()
    for unit in units:
        for resource in unit.resources:
            keywords = [str(k).lower() for k in resource.get("keywords", [])]
            if resource.get("domain") == ticket.domain and any(k in lowered for k in keywords):
                return texts.dispatch_hint(ticket.id, unit.name, str(resource.get("name", "")))
    return ""


def _notify_above(grid: Route, ticket: Ticket, text: str) -> tuple[list[OutgoingMessage], list[tuple[str, str]]]:
    out: list[OutgoingMessage] = []
    named: list[tuple[str, str]] = []
    for _level, serving in grid.above:
        for person in serving:
            named.append((ROLE_TITLES.get(person.role, ""), person.name))
            dm = notify(person, ticket.platform, text, ticket=ticket.id, hold=may_wait(ticket))
            if dm is not None:
                out.append(dm)
    return out, named


async def add_reporter(ctx: Context, msg: IncomingMessage, ticket: Ticket) -> bool:
    """Record the sender as a reporter of the ticket (False if they already are) and link the message."""
    ctx.stored.ticket_id = ticket.id
    return await ctx.tickets.add_reporter(
        ticket,
        platform=msg.platform,
        sender_id=msg.sender_id,
        sender_name=msg.sender_name,
        person_id=ctx.sender.id if ctx.sender else None,
        at=msg.time,
    )


async def merge_report(ctx: Context, msg: IncomingMessage, ticket: Ticket, unit: Unit) -> Reply:
    added = await add_reporter(ctx, msg, ticket)
    if not added:
        log.info("repeat report from %s:%s folded into #%d silently", msg.platform, msg.sender_id, ticket.id)
        return []
    await ctx.tickets.note(
        ticket, actor=ctx.actor(msg.platform, msg.sender_id), action="report", at=msg.time, note=msg.message_id
    )
    count = await households(ctx.org, ticket)
    out: list[OutgoingMessage] = [
        Say(
            platform=msg.platform,
            chat_id=msg.chat_id,
            text=texts.merged_report(msg.sender_name, ticket.id, count),
            mentions=(msg.sender_id,),
        )
    ]
    if ticket.kind == Kind.TRIVIAL and count >= ctx.settings.tickets.major_after_households:
        await lifecycle.promote_major(ctx, ticket, count, msg.time)
        dms, _ = _notify_above(
            await route(ctx.org, unit.id), ticket, texts.became_major(ticket.id, count, ticket.summary)
        )
        out.extend(dms)
    return out


@router.message(in_bound_group, is_report)
async def handle_report(msg: IncomingMessage, ctx: Context) -> Reply:
    assert ctx.group is not None
    assert ctx.unit_id is not None
    decision = ctx.decision
    unit = await ctx.org.unit(ctx.unit_id)
    assert unit is not None
    existing = await similar_open_ticket(ctx, msg, unit)
    if existing is not None:
        return await merge_report(ctx, msg, existing, unit)

    grid = await route(ctx.org, unit.id)
    summary = summarise(msg.text)
    # A check needs someone to ask; with nobody reachable it is treated as urgent at once.
    askable = grid.assignee is not None and address(grid.assignee, msg.platform) is not None
    check = decision.check and not decision.urgent and askable
    urgent = decision.urgent or (decision.check and not askable)
    major = urgent or decision.kind is Kind.MAJOR
    ticket = await ctx.tickets.open(
        community_id=unit.community_id,
        unit_id=unit.id,
        platform=msg.platform,
        chat_id=msg.chat_id,
        kind=Kind.MAJOR.value if major else decision.kind.value,
        urgent=urgent,
        domain=decision.domain.value,
        summary=summary,
        decision=decision.as_json(),
        assignee_id=grid.assignee.id if grid.assignee else None,
        opened_at=msg.time,
        actor=ctx.actor(msg.platform, msg.sender_id),
        council_pending=major,
    )
    await add_reporter(ctx, msg, ticket)
    if check:
        await lifecycle.start_check(ctx, ticket, msg.time)
    elif urgent and not decision.urgent:
        await ctx.tickets.note(ticket, actor=lifecycle.CHECK_ACTOR, action="check", at=msg.time, note="nobody to ask")

    notified: list[tuple[str, str]] = []
    out: list[OutgoingMessage] = []
    group_name = ctx.group.name or msg.chat_name
    if grid.assignee is not None:
        notified.append((ROLE_TITLES.get(grid.assignee.role, ""), grid.assignee.name))
        if check:
            text = alarm_texts.verify_request(
                ticket.id, summary, group_name, msg.sender_name, lifecycle.check_minutes(ctx)
            )
        else:
            task = texts.new_task(ticket.id, ticket.kind, ticket.urgent, group_name, msg.sender_name, summary)
            hint = await co_unit_hint(ctx, ticket, msg.text)
            text = f"{task}\n{hint}" if hint else task
        dm = notify(grid.assignee, msg.platform, text, ticket=ticket.id, hold=may_wait(ticket))
        if dm is not None:
            out.append(dm)
    if major:
        assignee_name = grid.assignee.name if grid.assignee else "社区"
        notice = texts.major_notice(ticket.id, ticket.urgent, group_name, msg.sender_name, summary, assignee_name)
        dms, named = _notify_above(grid, ticket, notice)
        out.extend(dms)
        notified.extend(named)
    e = ctx.settings.emergency
    if check:
        ack = alarm_texts.ack_check(msg.sender_name, ticket.id, summary, notified[0], e.police, e.medical)
    else:
        ack = texts.ack_report(msg.sender_name, ticket.id, summary, notified, major=major)
    if urgent:
        ack = f"{ack}\n{emergency_advice(e, decision.rules, msg.text)}"
    out.insert(0, Say(platform=msg.platform, chat_id=msg.chat_id, text=ack, mentions=(msg.sender_id,)))
    log.info(
        "ticket #%d (%s%s) opened in %s, assignee %s",
        ticket.id,
        ticket.kind,
        ", urgent" if ticket.urgent else ", check" if check else "",
        unit.id,
        ticket.assignee_id,
    )
    return out
