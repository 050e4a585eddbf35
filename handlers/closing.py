"""Resolved tickets close by themselves when no reporter objects within the configured time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.pipeline import outbox_row
from config.settings import Settings
from handlers.common import tell_group
from handlers.lifecycle import Action, IllegalTransition, apply
from storage.models import Ticket, TicketState
from storage.ticket_repo import TicketRepo

log = logging.getLogger(__name__)

ACTOR = "linli:auto-close"


async def close_resolved_tickets(sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> int:
    """Close every ticket resolved longer ago than ``tickets.auto_close_hours``; returns how many."""
    cutoff = now - timedelta(hours=settings.tickets.auto_close_hours)
    closed = 0
    async with sessions.begin() as session:
        repo = TicketRepo(session)
        due = await session.scalars(
            select(Ticket).where(Ticket.state == TicketState.RESOLVED, Ticket.resolved_at <= cutoff).order_by(Ticket.id)
        )
        for ticket in due.all():
            try:
                await apply(repo, ticket, Action.CLOSE, actor=ACTOR, at=now, note="no objection")
            except IllegalTransition:
                continue
            session.add(outbox_row(tell_group(ticket, texts.auto_closed(ticket.id)), now=now, in_reply_to=None))
            closed += 1
    if closed:
        log.info("closed %d resolved ticket(s) with no objection", closed)
    return closed
