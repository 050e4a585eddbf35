"""The 党群议事会 agenda: before each council meeting the committee gets the major tickets awaiting it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts_schedule as texts
from bot.message import DirectMessage, OutgoingMessage, Say
from bot.pipeline import outbox_row
from config.schedule import cron_trigger
from config.settings import Settings
from handlers.digest import committee, fit, limit_for
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
    shown = [(i.ticket, i.summary, i.unit, texts.STATE_TITLES.get(i.state, i.state)) for i in items[:MAX_ITEMS]]
    text = texts.council_agenda(community, meeting.astimezone(tz), shown)
    if len(items) > MAX_ITEMS:
        text += f"\n另有 {len(items) - MAX_ITEMS} 件从略。"
    return texts.mask_personal(text)


async def send_council_agenda(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime | None = None
) -> int:
    """The job: fires ``council.notice`` before each meeting; once per community and meeting."""
    now = now or datetime.now(UTC)
    tz = ZoneInfo(settings.timezone)
    meeting = next_meeting(settings, now)
    release = settings.schedule.quiet_hours.release_at(now, tz)
    async with sessions() as session:
        communities = (await session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))).all()
    queued = 0
    for community in communities:
        async with sessions.begin() as session:
            key = f"{community.id}:{meeting.astimezone(tz):%Y-%m-%dT%H:%M}"
            if not await JobRepo(session).claim_once("council", key, now):
                continue
            items = await agenda(session, settings, community.id)
            text = agenda_text(community.name, meeting, items, tz)
            out: list[OutgoingMessage] = []
            for person in await committee(session, community.id):
                target = address(person, "wecom")
                if target is not None:
                    out.append(DirectMessage(platform=target[0], to=target[1], text=fit(text, limit_for(target[0]))))
            for spec in settings.schedule.digest.committee_chats:
                platform, _, chat_id = spec.partition(":")
                if chat_id:
                    out.append(Say(platform=platform, chat_id=chat_id, text=fit(text, limit_for(platform))))
            for message in out:
                row = outbox_row(message, now=now, in_reply_to=None)
                row.not_before = release
                session.add(row)
            queued += len(out)
            log.info("council agenda for %s (%s): %d item(s)", community.id, key, len(items))
    return queued
