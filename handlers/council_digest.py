"""The residents' voice in the committee's weekly digest: the week's suggestions and the month's needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import needs as texts
from handlers.needs import counted
from storage.suggestion_repo import SuggestionRepo


def month_span(moment: datetime, tz: ZoneInfo) -> tuple[str, datetime, datetime]:
    """The calendar month (local) that ``moment`` falls in: (2026-12, its first instant, the next month's)."""
    local = moment.astimezone(tz)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + timedelta(days=32)).replace(day=1)
    return f"{first:%Y-%m}", first, following


@dataclass(frozen=True)
class VoiceSummary:
    received: int
    answered: int
    overdue: int
    month: str
    needs: list[tuple[str, int]]
    matched: int

    @property
    def total_needs(self) -> int:
        return sum(n for _, n in self.needs)

    def figures(self) -> dict[str, Any]:
        """The keys ``linli digest --json`` adds to its figures."""
        return {
            "suggestions": {"received": self.received, "answered": self.answered, "overdue": self.overdue},
            "needs": {
                "month": self.month,
                "total": self.total_needs,
                "matched": self.matched,
                "by_domain": dict(self.needs),
            },
        }

    def markdown(self) -> list[str]:
        return [
            *texts.suggestions_section(self.received, self.answered, self.overdue),
            *texts.digest_section(self.month, self.needs, self.matched, self.total_needs),
        ]


async def voice_summary(
    session: AsyncSession, community_id: str, start: datetime, end: datetime, tz: ZoneInfo
) -> VoiceSummary:
    """Suggestions received in [start, end) and the needs of the month the week ends in, up to ``end``."""
    received, answered, overdue = await SuggestionRepo(session).counts(community_id, start, end)
    month, first, following = month_span(end - timedelta(seconds=1), tz)
    per_domain, matched = await counted(session, community_id, first, min(end, following))
    return VoiceSummary(received, answered, overdue, month, per_domain, matched)
