"""The 党群议事会 agenda: before each meeting the council's members get the items before it (with the step
of 四议两公开 each has reached) and the major tickets still waiting to be taken to it."""

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
from handlers.council_grid import people_for
from handlers.digest import committee_chats
from handlers.routing import address
from storage.council_models import CouncilItem
from storage.council_repo import CouncilRepo
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
    item: bool = False
    """On the council already (else a major ticket waiting to be taken to it)."""
    stage: str | None = None
    """The last step of 四议两公开 recorded for an item (None: not proposed yet)."""


async def agenda(session: AsyncSession, settings: Settings, community_id: str) -> list[AgendaItem]:
    """The council's items whose result is not public yet, in the order they came; then the unfinished major
    tickets of the community whose SLA class goes to the council and that are not items yet, oldest first."""
    units = {u.id: u.name for u in (await session.scalars(select(Unit).where(Unit.community_id == community_id))).all()}
    found = []
    for item in await CouncilRepo(session).in_community(community_id):
        ticket = await session.get(Ticket, item.ticket_id)
        assert ticket is not None
        unit = units.get(item.unit_id, item.unit_id)
        found.append(AgendaItem(ticket.id, item.title, unit, ticket.state, ticket.opened_at, True, item.stage))
    rows = await session.execute(
        select(Ticket.id, Ticket.summary, Ticket.unit_id, Ticket.state, Ticket.opened_at, Ticket.urgent, Ticket.domain)
        .where(
            Ticket.community_id == community_id,
            Ticket.kind == "major",
            Ticket.state.in_(UNFINISHED_STATES),
            ~select(CouncilItem.id).where(CouncilItem.ticket_id == Ticket.id).exists(),
        )
        .order_by(Ticket.opened_at, Ticket.id)
    )
    for tid, summary, unit_id, state, opened_at, urgent, domain in rows.all():
        if settings.schedule.policy("major", urgent, domain).council:
            found.append(AgendaItem(tid, summary, units.get(unit_id, unit_id), state, opened_at))
    return found


def next_meeting(settings: Settings, now: datetime) -> datetime:
    tz = ZoneInfo(settings.timezone)
    meeting: datetime | None = cron_trigger(settings.schedule.council.meeting_cron, tz).get_next_fire_time(None, now)
    assert meeting is not None
    return meeting


def agenda_text(community: str, meeting: datetime, items: Sequence[AgendaItem], tz: ZoneInfo) -> str:
    """Every council item; the waiting major tickets up to ``MAX_ITEMS`` in all."""
    on_council = [(i.ticket, i.summary, i.unit, i.stage) for i in items if i.item]
    waiting = [(i.ticket, i.summary, i.unit, i.state) for i in items if not i.item]
    room = max(0, MAX_ITEMS - len(on_council))
    shown = waiting[:room]
    return texts.agenda(community, meeting.astimezone(tz), on_council, shown, left_out=len(waiting) - len(shown))


async def send_council_agenda(ctx: JobContext) -> JobOutcome:
    """The job: fires ``council.notice`` before each meeting, to the members ``council.agenda_to`` names;
    once per community and meeting, one a step."""
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
        for person in await people_for(ctx, community.id, ctx.settings.council.agenda_to, below=True):
            target = address(person)
            if target is not None:
                out.append(DirectMessage(target[0], target[1], text, topic=Topic.AGENDA, hold=True))
        chats = committee_chats(ctx.settings, community.id, len(communities))
        out.extend(Say(p, c, text, topic=Topic.AGENDA, hold=True) for p, c in chats)
        log.info("council agenda for %s (%s): %d item(s)", community.id, key, len(items))
        return JobOutcome(messages=out, more=True)
    return JobOutcome()
