"""Scheduled jobs across processes: a run that happens once per period, and a lock row for the sweep."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import JobRun


class JobRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_once(self, job: str, key: str, at: datetime, holder: str = "") -> bool:
        """Record that ``job`` ran for ``key``; False if it already had (in this or another process)."""
        try:
            async with self.session.begin_nested():
                self.session.add(JobRun(job=job, key=key, at=at, holder=holder))
        except IntegrityError:
            return False
        return True

    async def claimed(self, job: str, *, suffix: str = "") -> set[str]:
        """The keys ``job`` already ran for (those ending in ``suffix``: one period's)."""
        rows = await self.session.scalars(select(JobRun.key).where(JobRun.job == job, JobRun.key.endswith(suffix)))
        return set(rows.all())

    async def lock(self, job: str, key: str, at: datetime, holder: str = "") -> None:
        """Take the row lock ``(job, key)`` until the transaction ends; a second process waits here.

        This must be the first statement of the transaction: on SQLite the write starts the transaction,
        so everything read after it is read after the other process committed.
        """
        values = {"at": at, "holder": holder}
        result = await self.session.execute(update(JobRun).where(JobRun.job == job, JobRun.key == key).values(**values))
        if getattr(result, "rowcount", 0):
            return
        if not await self.claim_once(job, key, at, holder):
            await self.session.execute(update(JobRun).where(JobRun.job == job, JobRun.key == key).values(**values))


SERVICE = "service"
"""The job name of the lease rows a running ``linli run`` keeps fresh (key: host:pid)."""


class ServiceLease:
    """``linli run`` says it is using the database; ``replay`` and ``demo`` look before they write."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def hold(self, holder: str, at: datetime) -> None:
        await JobRepo(self.session).lock(SERVICE, holder, at, holder)

    async def release(self, holder: str) -> None:
        await self.session.execute(delete(JobRun).where(JobRun.job == SERVICE, JobRun.key == holder))

    async def holders(self, since: datetime) -> list[tuple[str, datetime]]:
        """Services that renewed their lease at or after ``since``: (host:pid, when)."""
        rows = await self.session.execute(
            select(JobRun.key, JobRun.at).where(JobRun.job == SERVICE, JobRun.at >= since).order_by(JobRun.key)
        )
        return [(key, at) for key, at in rows.all()]
