"""Week-by-week figures for the desk's charts, by the digest's definitions (docs/metrics.md).

For each ISO week: the tickets opened in it (the cohort), how many of them were accepted and resolved
by the week's end (受理率, 办结率), the median minutes to accept and to resolve, and how many tickets
(of any week) were resolved during it. Service areas count the tickets opened in the whole period.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from config.schedule import DOMAINS
from handlers.digest import Week
from storage.desk_query import DeskQuery, Visible


@dataclass
class WeekFigures:
    label: str
    opened: int = 0
    accepted: int = 0
    resolved: int = 0
    resolved_in_week: int = 0
    accept_minutes: list[float] = field(default_factory=list)
    resolve_minutes: list[float] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def rate(part: int) -> float | None:
            return round(part / self.opened, 4) if self.opened else None

        def median(values: list[float]) -> float | None:
            return round(statistics.median(values), 1) if values else None

        return {
            "week": self.label,
            "opened": self.opened,
            "resolved": self.resolved_in_week,
            "acceptance_rate": rate(self.accepted),
            "resolution_rate": rate(self.resolved),
            "median_accept_minutes": median(self.accept_minutes),
            "median_resolve_minutes": median(self.resolve_minutes),
        }


def weeks_back(now: datetime, count: int, tz: ZoneInfo) -> list[Week]:
    """The ``count`` ISO weeks up to and including the current one, oldest first."""
    today = now.astimezone(tz).date()
    found = []
    for back in range(count - 1, -1, -1):
        year, number, _ = (today - timedelta(weeks=back)).isocalendar()
        found.append(Week.of(year, number, tz))
    return found


async def weekly(session: AsyncSession, visible: Visible, now: datetime, count: int, tz: ZoneInfo) -> dict[str, Any]:
    weeks = weeks_back(now, count, tz)
    start = weeks[0].start.astimezone(UTC)
    figures = [WeekFigures(w.label) for w in weeks]
    ends = [w.end.astimezone(UTC) for w in weeks]

    def index(at: datetime) -> int | None:
        for i, end in enumerate(ends):
            if at < end:
                return i if at >= weeks[i].start else None
        return None

    by_domain: Counter[str] = Counter()
    query = DeskQuery(session)
    for domain, opened_at, accepted_at, resolved_at in await query.timeline(visible, start):
        i = index(opened_at)
        if i is None:
            continue
        by_domain[domain] += 1
        week, end = figures[i], ends[i]
        week.opened += 1
        accepted = min((t for t in (accepted_at, resolved_at) if t is not None), default=None)
        if accepted is not None and accepted < end:
            week.accepted += 1
            week.accept_minutes.append((accepted - opened_at).total_seconds() / 60)
        if resolved_at is not None and resolved_at < end:
            week.resolved += 1
            week.resolve_minutes.append((resolved_at - opened_at).total_seconds() / 60)
    for resolved_at in await query.resolved_since(visible, start):
        i = index(resolved_at)
        if i is not None:
            figures[i].resolved_in_week += 1
    return {
        "weeks": [f.as_json() for f in figures],
        "by_domain": [{"domain": d, "count": by_domain.get(d, 0)} for d in DOMAINS],
    }
