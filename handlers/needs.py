"""Monthly needs (需求清单): on a configured day the bot asks every group what the community could help
with; replies within the window become entries of the list, grouped by service area and matched against
the co-building units' resources. Reports the classifier reads as trivial or major are needs too: outside
a window they stand in the list as their tickets.

A reply that is a report still opens (or joins) its ticket as usual; a reply that only asks for
something ("希望多搞啲长者活动") is noted and thanked. Chat ("收到", "谢谢") is left alone.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context, JobContext
from bot.jobs import JobOutcome
from bot.message import IncomingMessage, OutgoingMessage, Say, Topic
from bot.router import Reply, Router
from bot.texts import needs as texts
from bot.texts.names import state_title, summarise
from config.schedule import DOMAINS
from handlers import reports
from handlers.common import answer
from handlers.council_grid import groups_under, local
from nlp.decision import Kind
from storage.council_models import Need
from storage.models import CoUnit, Ticket, Unit
from storage.needs_repo import NeedsRepo

log = logging.getLogger(__name__)

router = Router("needs")


def _may_be_a_need(msg: IncomingMessage, ctx: Context) -> bool:
    return not msg.is_direct and ctx.unit_id is not None and ctx.command is None and bool(msg.text.strip())


@router.message(_may_be_a_need)
async def handle_need(msg: IncomingMessage, ctx: Context) -> Reply:
    """A reply in a needs round's window: an entry of the list (and, if it is a report, its ticket)."""
    assert ctx.unit_id is not None
    unit = await ctx.org.unit(ctx.unit_id)
    if unit is None:
        return None
    report = ctx.decision.kind in (Kind.TRIVIAL, Kind.MAJOR)
    if not report and not any(cue in msg.text for cue in ctx.settings.council.needs.cues):
        return None  # chat: no need to ask the database whether a round is open
    needs = NeedsRepo(ctx.session)
    current = await needs.round_at(unit.community_id, msg.time)
    if current is None:
        return None
    reply = await reports.handle_report(msg, ctx) if report else None
    await needs.add(
        Need(
            round_id=current.id,
            community_id=unit.community_id,
            unit_id=unit.id,
            platform=msg.platform,
            chat_id=msg.chat_id,
            sender_id=msg.sender_id,
            sender_name=msg.sender_name,
            text=summarise(msg.text),
            domain=ctx.decision.domain.value,
            ticket_id=ctx.stored.ticket_id,
            at=msg.time,
            message_id=msg.message_id,
        )
    )
    log.info("need noted in %s from %s:%s (ticket %s)", unit.id, msg.platform, msg.sender_id, ctx.stored.ticket_id)
    return reply if reply is not None else [answer(msg, texts.noted())]


async def ask_for_needs(ctx: JobContext) -> JobOutcome:
    """The job: open this month's round in each community (once) and ask every group; a community a step."""
    month = f"{local(ctx, ctx.now):%Y-%m}"
    closes = ctx.now + ctx.settings.council.needs.window
    needs = NeedsRepo(ctx.session)
    for community in await ctx.org.communities():
        if not await needs.start_round(community.id, month, ctx.now, closes):
            continue
        groups = await groups_under(ctx, community.id)
        until = local(ctx, closes)
        messages: list[OutgoingMessage] = [
            Say(g.platform, g.chat_id, texts.ask(g.name, until), topic=Topic.NOTICE, hold=True) for g in groups
        ]
        log.info("needs round %s opened in %s: asked %d group(s)", month, community.id, len(groups))
        return JobOutcome(messages=messages, more=True, report=[{"community": community.id, "month": month}])
    return JobOutcome()


# --- the list ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    unit: str
    name: str
    domain: str
    keywords: tuple[str, ...]


async def resources(session: AsyncSession, community_id: str) -> list[Resource]:
    units = await session.scalars(select(CoUnit).where(CoUnit.community_id == community_id).order_by(CoUnit.id))
    return [
        Resource(
            u.name,
            str(r.get("name", "")),
            str(r.get("domain", "")),
            tuple(str(k).lower() for k in r.get("keywords", []) if str(k).strip()),
        )
        for u in units.all()
        for r in u.resources
    ]


def matches(text: str, offered: Sequence[Resource]) -> tuple[str, ...]:
    """The resources whose keywords the need's words contain, as ``单位：资源``."""
    lowered = text.lower()
    return tuple(f"{r.unit}：{r.name}" for r in offered if any(k in lowered for k in r.keywords))


async def needs_list(session: AsyncSession, community_id: str, start: datetime, end: datetime) -> list[texts.Entry]:
    """The 需求清单 of [start, end): replies to needs rounds, then tickets no reply already names."""
    repo = NeedsRepo(session)
    names = {u.id: u.name for u in (await session.scalars(select(Unit).where(Unit.community_id == community_id)))}
    offered = await resources(session, community_id)
    entries = [
        texts.Entry(
            "need", n.id, names.get(n.unit_id, n.unit_id), n.domain, n.text, n.ticket_id, matches(n.text, offered)
        )
        for n in await repo.between(community_id, start, end)
    ]
    entries += [
        texts.Entry("ticket", tid, names.get(unit, unit), domain, summary, tid, matches(summary, offered))
        for tid, unit, domain, summary in await repo.tickets_between(community_id, start, end)
    ]
    return entries


def by_domain(entries: Sequence[texts.Entry]) -> list[tuple[str, int]]:
    return ranked(Counter(e.domain for e in entries))


def ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    """Service areas by number of entries, most first (then by name, so that the order is stable)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


async def counted(
    session: AsyncSession, community_id: str, start: datetime, end: datetime
) -> tuple[list[tuple[str, int]], int]:
    """The 需求清单 of [start, end) as (entries per service area, entries matching a resource), counted in the
    database: the digest's view, cheap on a large backlog."""
    keywords = sorted({k for r in await resources(session, community_id) for k in r.keywords})
    per_domain, matched = await NeedsRepo(session).counts(community_id, start, end, keywords)
    return ranked(per_domain), matched


# --- periods and the quarterly summary -------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)


def period(text: str, tz: ZoneInfo) -> tuple[str, datetime, datetime]:
    """``2026-12`` or ``2026-Q4``: (label, first instant, the instant after), local; ValueError if neither."""
    month = _MONTH.match(text.strip())
    quarter = _QUARTER.match(text.strip())
    if month and 1 <= int(month.group(2)) <= 12:
        year, first_month, months = int(month.group(1)), int(month.group(2)), 1
    elif quarter:
        year, first_month, months = int(quarter.group(1)), 3 * int(quarter.group(2)) - 2, 3
    else:
        raise ValueError(f"{text!r} is neither a month such as 2026-12 nor a quarter such as 2026-Q4")
    start = datetime(year, first_month, 1, tzinfo=tz)
    end_month = first_month + months
    end = datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=tz)
    label = f"{year}-{first_month:02d}" if months == 1 else f"{year}-Q{(first_month + 2) // 3}"
    return label, start, end


@dataclass(frozen=True)
class Summary:
    """The 需求清单 of a period for one community, with the resources and the services dispatched."""

    community: str
    label: str
    start: datetime
    end: datetime
    entries: list[texts.Entry]
    resources: list[tuple[str, str, str]]
    services: list[tuple[int, str, str, str]]

    def markdown(self) -> str:
        return texts.quarter_markdown(
            self.community,
            self.label,
            (self.start, self.end - timedelta(minutes=1)),
            by_domain(self.entries),
            self.entries,
            self.resources,
            self.services,
        )


async def summary(session: AsyncSession, community: Unit, label: str, start: datetime, end: datetime) -> Summary:
    offered = await resources(session, community.id)
    units = {u.id: u.name for u in await session.scalars(select(CoUnit).where(CoUnit.community_id == community.id))}
    dispatched = await session.scalars(
        select(Ticket)
        .where(
            Ticket.community_id == community.id,
            Ticket.co_unit_id.is_not(None),
            Ticket.opened_at >= start,
            Ticket.opened_at < end,
        )
        .order_by(Ticket.id)
    )
    return Summary(
        community.name,
        label,
        start,
        end,
        await needs_list(session, community.id, start, end),
        [(r.unit, r.name, r.domain) for r in offered],
        [
            (t.id, t.summary, units.get(t.co_unit_id or "", t.co_unit_id or ""), state_title(t.state))
            for t in dispatched
        ],
    )


def write_summary(found: Summary, out_dir: Path) -> list[Path]:
    """needs.md and, if a CJK font is installed, needs_by_domain.png into ``out_dir`` (blocking)."""
    from handlers import charts  # matplotlib loads only when a chart is drawn

    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "needs.md"
    md.write_text(found.markdown(), encoding="utf-8")
    counts = dict(by_domain(found.entries))
    try:
        chart = charts.bar_by_domain(
            [(name, counts.get(name, 0)) for name in DOMAINS],
            texts.quarter_title(found.community, found.label),
            out_dir / "needs_by_domain.png",
        )
    except charts.FontMissing as exc:
        log.warning("needs chart skipped: %s", exc)
        return [md]
    return [md, chart]
