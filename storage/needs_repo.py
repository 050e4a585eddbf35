"""Monthly needs rounds and what they collected; with the tickets of the same months, the 需求清单."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.council_models import Need, NeedsRound
from storage.models import Ticket

ROUNDS_MARGIN = timedelta(days=1)
_OPEN_ROUNDS = "linli.needs_open_rounds"


class NeedsRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def start_round(self, community_id: str, month: str, opened_at: datetime, closes_at: datetime) -> bool:
        """Open the month's round; False if it was already opened (in this or another process)."""
        try:
            async with self.session.begin_nested():
                self.session.add(
                    NeedsRound(community_id=community_id, month=month, opened_at=opened_at, closes_at=closes_at)
                )
        except IntegrityError:
            return False
        self.session.info.pop(_OPEN_ROUNDS, None)
        return True

    async def round_at(self, community_id: str, at: datetime) -> NeedsRound | None:
        """The community's round collecting replies at ``at``, if one is.

        The rounds still open a day before the first time asked are read once per transaction (a few: one
        a month per community), so a batch of reports asks the database once, not once per report."""
        since, rounds = self.session.info.get(_OPEN_ROUNDS, (None, ()))
        if since is None or at < since:
            since = at - ROUNDS_MARGIN
            found = await self.session.scalars(select(NeedsRound).where(NeedsRound.closes_at > since))
            rounds = tuple(found.all())
            self.session.info[_OPEN_ROUNDS] = (since, rounds)
        current = [r for r in rounds if r.community_id == community_id and r.opened_at <= at < r.closes_at]
        return max(current, key=lambda r: r.opened_at, default=None)

    async def add(self, need: Need) -> Need:
        self.session.add(need)
        await self.session.flush()
        return need

    async def between(self, community_id: str, start: datetime, end: datetime) -> Sequence[Need]:
        rows = await self.session.scalars(
            select(Need).where(Need.community_id == community_id, Need.at >= start, Need.at < end).order_by(Need.id)
        )
        return rows.all()

    def _unnamed_tickets(self, community_id: str, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
        named = select(Need.ticket_id).where(Need.ticket_id.is_not(None)).scalar_subquery()
        return [
            Ticket.community_id == community_id,
            Ticket.opened_at >= start,
            Ticket.opened_at < end,
            Ticket.kind.in_(("trivial", "major")),
            Ticket.id.not_in(named),
        ]

    async def tickets_between(
        self, community_id: str, start: datetime, end: datetime
    ) -> Sequence[tuple[int, str, str, str]]:
        """(id, unit, domain, summary) of tickets opened in [start, end) that no collected need already names:
        reports read as needs."""
        rows = await self.session.execute(
            select(Ticket.id, Ticket.unit_id, Ticket.domain, Ticket.summary)
            .where(*self._unnamed_tickets(community_id, start, end))
            .order_by(Ticket.id)
        )
        return [(int(i), str(u), str(d), str(t)) for i, u, d, t in rows.all()]

    async def counts(
        self, community_id: str, start: datetime, end: datetime, keywords: Collection[str]
    ) -> tuple[Counter[str], int]:
        """The 需求清单 of [start, end) counted in the database: entries per service area, and how many contain
        one of ``keywords`` (lower case) — for the digest, which must not load a month of tickets."""

        def matched(column: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[int]:
            hit = or_(*(func.lower(column).contains(k, autoescape=True) for k in keywords)) if keywords else false()
            return func.coalesce(func.sum(case((hit, 1), else_=0)), 0)

        by_domain: Counter[str] = Counter()
        hits = 0
        queries = (
            select(Need.domain, func.count(), matched(Need.text))
            .where(Need.community_id == community_id, Need.at >= start, Need.at < end)
            .group_by(Need.domain),
            select(Ticket.domain, func.count(), matched(Ticket.summary))
            .where(*self._unnamed_tickets(community_id, start, end))
            .group_by(Ticket.domain),
        )
        for query in queries:
            for domain, number, found in (await self.session.execute(query)).all():
                by_domain[str(domain)] += int(number)
                hits += int(found or 0)
        return by_domain, hits
