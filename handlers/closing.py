"""Resolved tickets close by themselves when no reporter objects within the configured time."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from bot.context import JobContext
from bot.jobs import JobOutcome
from bot.texts import schedule as texts
from handlers import lifecycle
from handlers.common import tell_group
from storage.council_repo import held_by_council
from storage.models import Ticket, TicketState

log = logging.getLogger(__name__)

ACTOR = "linli:auto-close"
BATCH = 500


async def close_resolved_tickets(ctx: JobContext) -> JobOutcome:
    """Close tickets resolved longer ago than ``tickets.auto_close_hours``, a batch at a time, telling each group.

    A council item's ticket waits for its published result instead (``lifecycle.conclude``)."""
    cutoff = ctx.now - timedelta(hours=ctx.settings.tickets.auto_close_hours)
    due = await ctx.session.scalars(
        select(Ticket)
        .where(Ticket.state == TicketState.RESOLVED, Ticket.resolved_at <= cutoff, ~held_by_council())
        .order_by(Ticket.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)  # a reopening in flight wins; the ticket is looked at next time
    )
    tickets = due.all()
    outcome = JobOutcome(more=len(tickets) == BATCH)
    for ticket in await lifecycle.close_many(ctx, tickets, actor=ACTOR, at=ctx.now, note="no objection"):
        # Nobody is waiting for this news: in the quiet hours it waits for the morning.
        outcome.messages.append(replace(tell_group(ticket, texts.auto_closed(ticket.id)), hold=True))
    if tickets:
        log.info("closed %d resolved ticket(s) with no objection", len(tickets))
    return outcome
