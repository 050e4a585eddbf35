"""The 党群议事会 agenda: before each council meeting the committee gets the major tickets awaiting it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import JobContext
from bot.jobs import JobOutcome
from bot.message import DirectMessage, OutgoingMessage, Say, Topic
from bot.texts import council as texts
from config.schedule import cron_trigger
from config.settings import Settings
from handlers.digest import committee, committee_chats
from handlers.routing import address
from storage.job_repo import JobRepo
from storage.models import UNFINISHED_STATES, Ticket, Unit

log = logging.getLogger(__name__)

MAX_ITEMS = 30


@dataclass(frozen=True)
class AgendaItem:
    ticket: int
    summary: str
    unit: str
    state: str
    opened_at: datetime


async def agenda(session: AsyncSession, settings: Settings, community_id: str) -> list[AgendaItem]:
    """Unfinished major tickets of the community whose SLA class goes to the council, oldest first."""
    units = {u.id: u.name for u in (await session.scalars(select(Unit).where(Unit.community_id == community_id))).all()}
    rows = await session.execute(
        select(Ticket.id, Ticket.summary, Ticket.unit_id, Ticket.state, Ticket.opened_at, Ticket.urgent, Ticket.domain)
        .where(Ticket.community_id == community_id, Ticket.kind == "major", Ticket.state.in_(UNFINISHED_STATES))
        .order_by(Ticket.opened_at, Ticket.id)
    )
    items = []
    for tid, summary, unit_id, state, opened_at, urgent, domain in rows.all():
        if settings.schedule.policy("major", urgent, domain).council:
            items.append(AgendaItem(tid, summary, units.get(unit_id, unit_id), state, opened_at))
    return items


def next_meeting(settings: Settings, now: datetime) -> datetime:
    tz = ZoneInfo(settings.timezone)
    meeting: datetime | None = cron_trigger(settings.schedule.council.meeting_cron, tz).get_next_fire_time(None, now)
    assert meeting is not None
    return meeting


def agenda_text(community: str, meeting: datetime, items: Sequence[AgendaItem], tz: ZoneInfo) -> str:
    shown = [(i.ticket, i.summary, i.unit, i.state) for i in items[:MAX_ITEMS]]
    return texts.agenda(community, meeting.astimezone(tz), shown, left_out=max(0, len(items) - MAX_ITEMS))


async def send_council_agenda(ctx: JobContext) -> JobOutcome:
    """The job: fires ``council.notice`` before each meeting; once per community and meeting, one a step."""
    tz = ZoneInfo(ctx.settings.timezone)
    meeting = next_meeting(ctx.settings, ctx.now)
    suffix = f":{meeting.astimezone(tz):%Y-%m-%dT%H:%M}"
    jobs = JobRepo(ctx.session)
    done = await jobs.claimed("council", suffix=suffix)
    communities = await ctx.org.communities()
    for community in communities:
        key = f"{community.id}{suffix}"
        if key in done or not await jobs.claim_once("council", key, ctx.now):
            continue
        items = await agenda(ctx.session, ctx.settings, community.id)
        text = agenda_text(community.name, meeting, items, tz)
        out: list[OutgoingMessage] = []
        for person in await committee(ctx.session, community.id):
            target = address(person)
            if target is not None:
                out.append(DirectMessage(target[0], target[1], text, topic=Topic.AGENDA, hold=True))
        chats = committee_chats(ctx.settings, community.id, len(communities))
        out.extend(Say(p, c, text, topic=Topic.AGENDA, hold=True) for p, c in chats)
        log.info("council agenda for %s (%s): %d item(s)", community.id, key, len(items))
        return JobOutcome(messages=out, more=True)
    return JobOutcome()
