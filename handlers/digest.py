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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts_schedule as texts
from bot.message import DirectMessage, OutgoingMessage, Say, SendImage
from bot.pipeline import outbox_row
from config.schedule import DOMAINS
from config.settings import Settings
from handlers.routing import address
from handlers.worktime import WorkCalendar
from storage.job_repo import JobRepo
from storage.models import ChatGroup, Person, PointEntry, Rating, Role, Ticket, Unit

log = logging.getLogger(__name__)

PAGE = 5_000
SPLITTING_PLATFORMS = frozenset({"wecom"})
"""Platforms whose adapter splits a long text into several messages itself (WeCom: app texts of at most
2048 bytes, webhook markdown of at most 4096, at blank lines, then lines): texts for them are never cut."""
DEFAULT_LIMIT_BYTES = 4_000
"""Other platforms get one message, cut to this many bytes of UTF-8 and saying so."""
WEEKDAYS = "一二三四五六日"
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
        )
    )
    async for (resolved_at,) in day_rows:
        assert resolved_at is not None
        resolved_per_day[(resolved_at.astimezone(tz).date() - days[0]).days] += 1
    start = week.start.astimezone(UTC)
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
    )


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


def fit(text: str, limit_bytes: int | None) -> str:
    """Cut ``text`` at a line boundary so that it fits ``limit_bytes`` of UTF-8, saying that it was cut.

    ``None``: the platform splits long texts itself; ``text`` is returned whole.
    """
    if limit_bytes is None or len(text.encode()) <= limit_bytes:
        return text
    tail = f"\n{texts.CUT_SHORT}"
    budget = limit_bytes - len(tail.encode())
    kept: list[str] = []
    used = 0
    for line in text.splitlines():
        size = len(line.encode()) + 1
        if used + size > budget:
            break
        kept.append(line)
        used += size
    if not kept:
        return text.encode()[:budget].decode(errors="ignore") + tail
    return "\n".join(kept) + tail


def limit_for(platform: str) -> int | None:
    """How many bytes one text may take on ``platform``; ``None`` where the adapter splits (nothing is lost)."""
    return None if platform in SPLITTING_PLATFORMS else DEFAULT_LIMIT_BYTES


def span_text(week: Week) -> str:
    first, last = week.days()[0], week.days()[-1]
    return f"{first.month}月{first.day}日—{last.month}月{last.day}日"


def group_text(digest: Digest, unit_id: str, group_name: str) -> str:
    tally = digest.units.get(unit_id, Tally())
    text = texts.digest_group(
        group_name,
        digest.week.label,
        tally.new,
        tally.accepted,
        tally.resolved,
        tally.acceptance_rate,
        tally.resolution_rate,
    )
    return texts.mask_personal(text)


def committee_markdown(digest: Digest, max_units: int = 30) -> str:
    """The committee's full digest as Markdown (``digest.md``); phone numbers masked."""
    t = digest.total
    f = digest.figures()
    lines = [
        f"# {digest.community.name} 周报 {digest.week.label}（{span_text(digest.week)}）",
        "",
        f"- 新反映 {t.new} 件；已接单 {t.accepted} 件，受理率 {texts.rate(t.acceptance_rate)}；"
        f"已办结 {t.resolved} 件，办结率 {texts.rate(t.resolution_rate)}",
        f"- 接单用时中位数 {texts.minutes(f['median_accept_minutes'])}；"
        f"办结用时中位数 {texts.minutes(f['median_resolve_minutes'])}",
        f"- 逾期 {t.overdue} 件",
        "",
        "## 服务领域",
    ]
    lines += [f"- {name} {n} 件" for name, n in f["by_domain"].items()] or ["- 本周无新反映"]
    lines += ["", "## 逾期事项"]
    lines += [f"- #{tid}「{summary}」（{where}）" for tid, summary, where in digest.overdue_items] or ["- 无"]
    lines += ["", "## 各网格"]
    rows = sorted(
        ((uid, tally) for uid, tally in digest.units.items() if uid != digest.community.id),
        key=lambda kv: (-kv[1].new, kv[0]),
    )
    for uid, tally in rows[:max_units]:
        lines.append(
            f"- {digest.unit_names.get(uid, uid)}：新 {tally.new} / 接单 {tally.accepted} / 办结 {tally.resolved}"
            f" / 逾期 {tally.overdue}"
        )
    if len(rows) > max_units:
        lines.append(f"- 其余 {len(rows) - max_units} 个网格从略")
    score = f"{digest.satisfaction:.2f} 分（满分 5 分）" if digest.satisfaction is not None else "本周暂无评价"
    lines += ["", "## 居民满意度", f"- {score}"]
    lines += ["", "## 楼长积分"]
    lines += [
        f"{rank}. {p['name']} {p['points']} 分（本周 {p['week']:+d}）" for rank, p in enumerate(digest.points[:10], 1)
    ] or ["- 暂无"]
    return texts.mask_personal("\n".join(lines)) + "\n"


def render_charts(digest: Digest, out_dir: Path) -> list[Path]:
    """by_domain.png and daily.png into ``out_dir``; none (with a warning) if no CJK font is installed."""
    from handlers import charts  # matplotlib loads only when a chart is drawn, not with every CLI command

    counts = [(name, digest.total.by_domain.get(name, 0)) for name in DOMAINS]
    days = [f"{d.month}/{d.day} 周{WEEKDAYS[d.weekday()]}" for d in digest.week.days()]
    title = f"{digest.community.name} {digest.week.label}"
    try:
        return [
            charts.bar_by_domain(counts, f"{title} 各服务领域工单数", out_dir / "by_domain.png"),
            charts.opened_vs_resolved(
                days, digest.opened_per_day, digest.resolved_per_day, f"{title} 每日新反映与办结", out_dir / "daily.png"
            ),
        ]
    except charts.FontMissing as exc:
        log.warning("digest charts skipped: %s", exc)
        return []


def write_files(digest: Digest, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "digest.md"
    md.write_text(committee_markdown(digest), encoding="utf-8")
    return [md, *render_charts(digest, out_dir)]


async def committee(session: AsyncSession, community_id: str) -> Sequence[Person]:
    rows = await session.scalars(
        select(Person)
        .where(Person.unit_id == community_id, Person.active.is_(True), Person.role != Role.RESIDENT)
        .order_by(Person.id)
    )
    return rows.all()


def _chat(spec: str) -> tuple[str, str] | None:
    platform, sep, chat_id = spec.partition(":")
    return (platform, chat_id) if sep and chat_id else None


async def deliver(session: AsyncSession, settings: Settings, digest: Digest, now: datetime) -> int:
    """Queue the digest: each bound group its own summary, the committee the full text and the charts."""
    tz = ZoneInfo(settings.timezone)
    release = settings.schedule.quiet_hours.release_at(now, tz)
    out: list[OutgoingMessage] = []
    groups = await session.scalars(
        select(ChatGroup)
        .where(ChatGroup.unit_id.in_(list(digest.unit_names)))
        .order_by(ChatGroup.platform, ChatGroup.chat_id)
    )
    for group in groups.all():
        assert group.unit_id is not None
        text = group_text(digest, group.unit_id, group.name or digest.unit_names.get(group.unit_id, ""))
        out.append(Say(platform=group.platform, chat_id=group.chat_id, text=fit(text, limit_for(group.platform))))
    out_dir = settings.schedule.digest.out_dir / digest.community.id / digest.week.label
    files = write_files(digest, out_dir)
    full = committee_markdown(digest)
    for person in await committee(session, digest.community.id):
        target = address(person, "wecom")
        if target is not None:
            out.append(DirectMessage(platform=target[0], to=target[1], text=fit(full, limit_for(target[0]))))
    for spec in settings.schedule.digest.committee_chats:
        chat = _chat(spec)
        if chat is None:
            continue
        out.append(Say(platform=chat[0], chat_id=chat[1], text=fit(full, limit_for(chat[0]))))
        out.extend(SendImage(platform=chat[0], chat_id=chat[1], path=str(p.resolve())) for p in files[1:])
    for message in out:
        row = outbox_row(message, now=now, in_reply_to=None)
        row.not_before = release
        session.add(row)
    return len(out)


async def send_weekly_digest(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime | None = None
) -> int:
    """The cron job: last week's digest for every community, once per community and week."""
    now = now or datetime.now(UTC)
    tz = ZoneInfo(settings.timezone)
    week = Week.before(now, tz)
    async with sessions() as session:
        communities = [u.id for u in (await session.scalars(select(Unit).where(Unit.parent_id.is_(None)))).all()]
    queued = 0
    for community_id in communities:
        async with sessions.begin() as session:
            if not await JobRepo(session).claim_once("digest", f"{community_id}:{week.label}", now):
                continue
            digest = await compute(session, settings, community_id, week)
            queued += await deliver(session, settings, digest, now)
        log.info("weekly digest %s for %s: %d new, %d message(s)", week.label, community_id, digest.total.new, queued)
    return queued
