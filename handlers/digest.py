"""The weekly digest: figures for the ISO week, a short text per group, the committee's full one, charts.

Figures follow docs/metrics.md exactly. Tickets are streamed from the database in pages and folded into
per-unit tallies as they come, so memory grows with the number of units, not of tickets (the only
per-ticket data kept are the durations behind the two medians, for the week's tickets alone).
"""

from __future__ import annotations

import logging
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import JobContext
from bot.jobs import JobOutcome
from bot.message import DirectMessage, OutgoingMessage, Say, Topic
from bot.texts import digest as texts
from config.schedule import DOMAINS
from config.settings import Settings
from handlers import digest_files
from handlers.council_digest import VoiceSummary, voice_summary
from handlers.digest_files import DigestFiles
from handlers.labels import Labels, confusions
from handlers.routing import address
from handlers.worktime import WorkCalendar
from storage.correction_repo import CorrectionRepo
from storage.job_repo import JobRepo
from storage.models import ChatGroup, Person, PointEntry, Rating, Role, Ticket, Unit

log = logging.getLogger(__name__)

PAGE = 5_000
MAX_UNITS = 30
"""Units listed one by one in the committee's digest; the rest are counted."""
MAX_CONFUSIONS = 5
NOISE = "noise"
"""Tickets the grid closed as 不是问题 are no tickets at all: out of every figure (docs/metrics.md)."""
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


class DigestError(ValueError):
    """A week or community that cannot be digested; the text says why."""


@dataclass(frozen=True)
class Week:
    year: int
    number: int
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    def days(self) -> list[date]:
        first = self.start.date()
        return [first + timedelta(days=i) for i in range(7)]

    @classmethod
    def of(cls, year: int, number: int, tz: ZoneInfo) -> Week:
        try:
            monday = date.fromisocalendar(year, number, 1)
        except ValueError as exc:
            raise DigestError(f"{year}-W{number:02d} is not an ISO week") from exc
        start = datetime.combine(monday, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=tz)
        return cls(year, number, start, end)

    @classmethod
    def parse(cls, text: str, tz: ZoneInfo) -> Week:
        match = _WEEK.fullmatch(text.strip())
        if not match:
            raise DigestError(f"{text!r} is not an ISO week such as 2026-W47")
        return cls.of(int(match.group(1)), int(match.group(2)), tz)

    @classmethod
    def before(cls, now: datetime, tz: ZoneInfo) -> Week:
        """The last full week before ``now`` (on Monday morning: the week that just ended)."""
        year, number, _ = (now.astimezone(tz).date() - timedelta(days=7)).isocalendar()
        return cls.of(year, number, tz)


@dataclass
class Tally:
    """Counts for the tickets opened in the week under one unit (its own and its descendants')."""

    new: int = 0
    accepted: int = 0
    resolved: int = 0
    overdue: int = 0
    by_domain: Counter[str] = field(default_factory=Counter)

    def add(self, accepted: bool, resolved: bool, overdue: bool, domain: str) -> None:
        self.new += 1
        self.accepted += accepted
        self.resolved += resolved
        self.overdue += overdue
        self.by_domain[domain] += 1

    @staticmethod
    def ratio(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    @property
    def acceptance_rate(self) -> float | None:
        return self.ratio(self.accepted, self.new)

    @property
    def resolution_rate(self) -> float | None:
        return self.ratio(self.resolved, self.new)


@dataclass
class Digest:
    community: Unit
    week: Week
    total: Tally
    units: dict[str, Tally]
    unit_names: dict[str, str]
    accept_minutes: list[float]
    resolve_minutes: list[float]
    opened_per_day: list[int]
    resolved_per_day: list[int]
    overdue_items: list[tuple[int, str, str]]
    """(ticket id, summary, unit name) for the first overdue tickets, oldest first."""
    satisfaction: float | None = None
    points: list[dict[str, Any]] = field(default_factory=list)
    voice: VoiceSummary | None = None
    """The week's suggestions and the month's needs (docs/council.md)."""
    corrected: int = 0
    """Tickets the grid corrected during the week."""
    confusions: list[tuple[str, str, str, int]] = field(default_factory=list)
    """(what, from, to, how often), most common first: what the corrections say the classifier confused."""

    def figures(self) -> dict[str, Any]:
        """The figures object of ``linli digest --json`` (docs/metrics.md)."""
        return {
            "new": self.total.new,
            "accepted": self.total.accepted,
            "resolved": self.total.resolved,
            "acceptance_rate": self.total.acceptance_rate,
            "resolution_rate": self.total.resolution_rate,
            "median_accept_minutes": _median(self.accept_minutes),
            "median_resolve_minutes": _median(self.resolve_minutes),
            "overdue": self.total.overdue,
            "by_domain": dict(sorted(self.total.by_domain.items(), key=lambda kv: (-kv[1], kv[0]))),
            "satisfaction": self.satisfaction,
            "points": self.points,
            **(self.voice.figures() if self.voice is not None else {}),
            "corrections": {
                "tickets": self.corrected,
                "confusions": [{"what": w, "from": a, "to": b, "count": n} for w, a, b, n in self.confusions],
            },
        }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


async def compute(session: AsyncSession, settings: Settings, community_id: str, week: Week) -> Digest:
    """Stream the week's tickets of one community and fold them into tallies."""
    community = await session.get(Unit, community_id)
    if community is None or community.parent_id is not None:
        raise DigestError(f"{community_id!r} is not a community in the org")
    tz = ZoneInfo(settings.timezone)
    schedule = settings.schedule
    cal = WorkCalendar(tz, schedule.working_hours)
    units = (await session.scalars(select(Unit).where(Unit.community_id == community_id))).all()
    parent = {u.id: u.parent_id for u in units}
    names = {u.id: u.name for u in units}
    tallies: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    accept_minutes: list[float] = []
    resolve_minutes: list[float] = []
    days = week.days()
    opened_per_day = [0] * 7
    overdue_items: list[tuple[int, str, str]] = []
    end = week.end.astimezone(UTC)
    query = (
        select(
            Ticket.id,
            Ticket.unit_id,
            Ticket.kind,
            Ticket.urgent,
            Ticket.domain,
            Ticket.summary,
            Ticket.opened_at,
            Ticket.accepted_at,
            Ticket.resolved_at,
        )
        .where(
            Ticket.community_id == community_id,
            Ticket.opened_at >= week.start.astimezone(UTC),
            Ticket.opened_at < end,
            Ticket.kind != NOISE,
        )
        .order_by(Ticket.opened_at, Ticket.id)
        .execution_options(yield_per=PAGE)
    )
    result = await session.stream(query)
    async for tid, unit_id, kind, urgent, domain, summary, opened, accepted_at, resolved_at in result:
        accepted_by = min((t for t in (accepted_at, resolved_at) if t is not None), default=None)
        accepted = accepted_by is not None and accepted_by < end
        resolved = resolved_at is not None and resolved_at < end
        policy = schedule.policy(kind, urgent, domain)
        accept_deadline = cal.add(opened, policy.accept, policy.clock)
        overdue = accept_deadline < end and not (
            accepted and accepted_by is not None and accepted_by <= accept_deadline
        )
        if not overdue and accepted and policy.resolve is not None and accepted_by is not None:
            resolve_deadline = cal.add(accepted_by, policy.resolve, policy.clock)
            overdue = resolve_deadline < end and not (
                resolved and resolved_at is not None and resolved_at <= resolve_deadline
            )
        total.add(accepted, resolved, overdue, domain)
        current: str | None = unit_id
        while current is not None:
            tallies[current].add(accepted, resolved, overdue, domain)
            current = parent.get(current)
        if accepted and accepted_by is not None:
            accept_minutes.append(_minutes(accepted_by - opened))
        if resolved and resolved_at is not None:
            resolve_minutes.append(_minutes(resolved_at - opened))
        opened_per_day[(opened.astimezone(tz).date() - days[0]).days] += 1
        if overdue and len(overdue_items) < 10:
            overdue_items.append((tid, summary, names.get(unit_id, unit_id)))
    resolved_per_day = [0] * 7
    day_rows = await session.stream(
        select(Ticket.resolved_at).where(
            Ticket.community_id == community_id,
            Ticket.resolved_at >= week.start.astimezone(UTC),
            Ticket.resolved_at < end,
            Ticket.kind != NOISE,
        )
    )
    async for (resolved_at,) in day_rows:
        assert resolved_at is not None
        resolved_per_day[(resolved_at.astimezone(tz).date() - days[0]).days] += 1
    start = week.start.astimezone(UTC)
    corrected, confused = await corrections_in(session, community_id, start, end)
    mean_score = await session.scalar(
        select(func.avg(Rating.score))
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(Ticket.community_id == community_id, Rating.at >= start, Rating.at < end)
    )
    return Digest(
        community=community,
        week=week,
        total=total,
        units=dict(tallies),
        unit_names=names,
        accept_minutes=accept_minutes,
        resolve_minutes=resolve_minutes,
        opened_per_day=opened_per_day,
        resolved_per_day=resolved_per_day,
        overdue_items=overdue_items,
        satisfaction=round(float(mean_score), 2) if mean_score is not None else None,
        points=await points_ranking(session, community_id, start, end),
        voice=await voice_summary(session, community_id, start, end, tz),
        corrected=corrected,
        confusions=confused,
    )


async def corrections_in(
    session: AsyncSession, community_id: str, start: datetime, end: datetime
) -> tuple[int, list[tuple[str, str, str, int]]]:
    """How many tickets the grid corrected in [start, end), and the confusions, most common first."""
    rows = await CorrectionRepo(session).between(community_id, start, end)
    counted: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        counted.update(confusions(Labels.from_json(row.before), Labels.from_json(row.after)))
    ranked = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))
    return len({row.ticket_id for row in rows}), [(what, a, b, n) for (what, a, b), n in ranked]


async def points_ranking(
    session: AsyncSession, community_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Leaders of the community by points earned up to the end of the week, with the week's gain."""
    in_week = case((PointEntry.at >= start, PointEntry.points), else_=0)
    rows = await session.execute(
        select(Person.id, Person.name, func.sum(PointEntry.points), func.sum(in_week))
        .join(Person, Person.id == PointEntry.person_id)
        .join(Unit, Unit.id == Person.unit_id)
        .where(Unit.community_id == community_id, PointEntry.at < end)
        .group_by(Person.id, Person.name)
        .order_by(func.sum(PointEntry.points).desc(), Person.name)
    )
    return [
        {"id": pid, "name": name, "points": int(total or 0), "week": int(week or 0)}
        for pid, name, total, week in rows.all()
    ]


def group_text(digest: Digest, unit_id: str, group_name: str) -> str:
    tally = digest.units.get(unit_id, Tally())
    return texts.group_summary(
        group_name,
        digest.week.label,
        tally.new,
        tally.accepted,
        tally.resolved,
        tally.acceptance_rate,
        tally.resolution_rate,
    )


def committee_markdown(digest: Digest) -> str:
    """The committee's full digest as Markdown (``digest.md``); phone numbers masked."""
    t = digest.total
    f = digest.figures()
    rows = sorted(
        ((uid, tally) for uid, tally in digest.units.items() if uid != digest.community.id),
        key=lambda kv: (-kv[1].new, kv[0]),
    )
    days = digest.week.days()
    return texts.committee_markdown(
        texts.CommitteeDigest(
            community=digest.community.name,
            week=digest.week.label,
            span=texts.span(days[0], days[-1]),
            new=t.new,
            accepted=t.accepted,
            resolved=t.resolved,
            acceptance=t.acceptance_rate,
            resolution=t.resolution_rate,
            median_accept_minutes=f["median_accept_minutes"],
            median_resolve_minutes=f["median_resolve_minutes"],
            overdue=t.overdue,
            by_domain=f["by_domain"],
            overdue_items=digest.overdue_items,
            units=[
                texts.UnitLine(digest.unit_names.get(uid, uid), u.new, u.accepted, u.resolved, u.overdue)
                for uid, u in rows[:MAX_UNITS]
            ],
            units_left_out=max(0, len(rows) - MAX_UNITS),
            satisfaction=digest.satisfaction,
            points=[(p["name"], p["points"], p["week"]) for p in digest.points[:10]],
            extra=digest.voice.markdown() if digest.voice is not None else [],
            corrected=digest.corrected,
            confusions=digest.confusions[:MAX_CONFUSIONS],
        )
    )


def files_of(digest: Digest, out_dir: Path) -> DigestFiles:
    """What the digest writes to ``out_dir``, as values another process can draw from."""
    return DigestFiles(
        out_dir=out_dir,
        markdown=committee_markdown(digest),
        titles=texts.chart_titles(digest.community.name, digest.week.label),
        by_domain=tuple((name, digest.total.by_domain.get(name, 0)) for name in DOMAINS),
        days=tuple(texts.day_label(d) for d in digest.week.days()),
        opened=tuple(digest.opened_per_day),
        resolved=tuple(digest.resolved_per_day),
    )


def write_files(digest: Digest, out_dir: Path) -> list[Path]:
    """digest.md and the charts into ``out_dir`` (blocking: call it off the event loop)."""
    return digest_files.write(files_of(digest, out_dir))


async def committee(session: AsyncSession, community_id: str) -> Sequence[Person]:
    rows = await session.scalars(
        select(Person)
        .where(Person.unit_id == community_id, Person.active.is_(True), Person.role != Role.RESIDENT)
        .order_by(Person.id)
    )
    return rows.all()


def committee_chats(settings: Settings, community_id: str, communities: int) -> list[tuple[str, str]]:
    """(platform, chat id) of one community's committee chats (``schedule.digest.committee_chats``).

    The old form, one list for everyone, is used only when the org has a single community (``communities``):
    with several it cannot say whose chat it is, and one community's overdue list and leaders' points must
    never reach another's committee."""
    configured = settings.schedule.digest.committee_chats
    if isinstance(configured, list):
        if communities != 1:
            log.error(
                "schedule.digest.committee_chats is a plain list but the org has %d communities: nothing sent to "
                "those chats; list them per community ({community id: [platform:chat_id]})",
                communities,
            )
            return []
        specs = configured
    else:
        specs = configured.get(community_id, [])
    chats = []
    for spec in specs:
        platform, _, chat_id = spec.partition(":")
        chats.append((platform, chat_id))
    return chats


async def messages_for(
    session: AsyncSession, settings: Settings, digest: Digest, chats: list[tuple[str, str]]
) -> list[OutgoingMessage]:
    """Each bound group its own summary; the committee the full text, by direct message and in its chats."""
    out: list[OutgoingMessage] = []
    groups = await session.scalars(
        select(ChatGroup)
        .where(ChatGroup.unit_id.in_(list(digest.unit_names)))
        .order_by(ChatGroup.platform, ChatGroup.chat_id)
    )
    for group in groups.all():
        assert group.unit_id is not None
        text = group_text(digest, group.unit_id, group.name or digest.unit_names.get(group.unit_id, ""))
        out.append(Say(group.platform, group.chat_id, text, topic=Topic.DIGEST, hold=True))
    full = committee_markdown(digest)
    for person in await committee(session, digest.community.id):
        target = address(person)
        if target is not None:
            out.append(DirectMessage(target[0], target[1], full, topic=Topic.DIGEST, hold=True))
    out.extend(Say(platform, chat_id, full, topic=Topic.DIGEST, hold=True) for platform, chat_id in chats)
    return out


def charts_for(settings: Settings, digest: Digest, chats: list[tuple[str, str]]) -> Callable[[], list[OutgoingMessage]]:
    """The follow-up after the digest's commit: write the files, then send the charts to the committee's chats
    (plain values and a module-level function, so that it can run in another process)."""
    out_dir = settings.schedule.digest.out_dir / digest.community.id / digest.week.label
    return partial(digest_files.write_and_send, files_of(digest, out_dir), tuple(chats))


async def send_weekly_digest(ctx: JobContext) -> JobOutcome:
    """The job: last week's digest, one community a step, once per community and week across processes."""
    tz = ZoneInfo(ctx.settings.timezone)
    week = Week.before(ctx.now, tz)
    jobs = JobRepo(ctx.session)
    done = await jobs.claimed("digest", suffix=f":{week.label}")
    communities = await ctx.org.communities()
    for community in communities:
        key = f"{community.id}:{week.label}"
        if key in done or not await jobs.claim_once("digest", key, ctx.now):
            continue
        digest = await compute(ctx.session, ctx.settings, community.id, week)
        chats = committee_chats(ctx.settings, community.id, len(communities))
        messages = await messages_for(ctx.session, ctx.settings, digest, chats)
        log.info(
            "weekly digest %s for %s: %d new, %d message(s)", week.label, community.id, digest.total.new, len(messages)
        )
        return JobOutcome(messages=messages, followup=charts_for(ctx.settings, digest, chats), more=True)
    return JobOutcome()
