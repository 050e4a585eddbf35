"""Sending what was committed to the outbox: a worker per platform, retried with backoff; adapters pace their sends.

Several processes may share one outbox: each claims due items under its ``instance`` name (a claim skips
rows another process is claiming), sends them with its own adapters and settles them. After a crash an
item caught mid-send is marked ``unknown``, never resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from bot.adapters.base import Adapter, SendError
from bot.health import database_unreachable, log_failure
from bot.outbox import to_message
from storage.models import OutboxItem
from storage.outbox_repo import STALE_AFTER, OutboxRepo

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 600.0

Observer = Callable[[OutboxItem], None]


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**attempts))


class OutboxDispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        adapters: Mapping[str, Adapter],
        observer: Observer | None = None,
        poll_seconds: float = 2.0,
        instance: str = "",
        patience_seconds: float = 120.0,
    ) -> None:
        self.sessions = sessions
        self.adapters = dict(adapters)
        self.observer = observer
        self.poll_seconds = poll_seconds
        self.instance = instance
        self.patience_seconds = patience_seconds
        self._wake: dict[str, asyncio.Event] = {p: asyncio.Event() for p in self.adapters}
        self._tasks: list[asyncio.Task[None]] = []
        self.sent = 0
        self.failed = 0
        self.after_id: int | None = None
        """Send only items written after this one (``linli replay``: what its own messages caused)."""
        self.by_priority = True
        """Most urgent first; a replay sends in the order things were due and written instead."""

    def nudge(self) -> None:
        for event in self._wake.values():
            event.set()

    async def recover(self, *, own: bool = True) -> None:
        """Mark unknown what this instance was sending when it stopped (``own``), and what a process that
        died mid-send left behind."""
        async with self.sessions.begin() as session:
            lost = await OutboxRepo(session).abandon_in_flight(self.instance if own else None, datetime.now(UTC))
        if lost:
            log.warning("%d outbox item(s) were mid-send when a sender stopped; marked unknown, not resent", lost)

    async def drain(self, now: datetime | None = None, platform: str | None = None, *, claim: int = 1) -> int:
        """Send everything due at ``now`` (default: the real clock), ``claim`` items to a claim; returns how
        many were sent. A crash loses at most one claim's items to ``unknown``: live workers claim one at a
        time (platforms pace their sends anyway); a replay, whose adapters only record, claims many."""
        platforms = [platform] if platform else list(self.adapters)
        sent = 0
        while True:
            clock = now or datetime.now(UTC)
            async with self.sessions.begin() as session:
                items = await OutboxRepo(session).claim_due(
                    clock,
                    platforms,
                    limit=claim,
                    holder=self.instance,
                    at=datetime.now(UTC),
                    after_id=self.after_id,
                    by_priority=self.by_priority,
                )
            if not items:
                return sent
            sent += await self._send(items, now)
            if len(items) < claim:  # that was everything due: no need to ask again
                return sent

    async def _send(self, items: list[OutboxItem], now: datetime | None) -> int:
        delivered: list[OutboxItem] = []
        failures: list[tuple[OutboxItem, Exception]] = []
        for item in items:
            try:
                await self.adapters[item.platform].send(to_message(item))
            except Exception as exc:
                failures.append((item, exc))
            else:
                delivered.append(item)
        await self._settle(delivered, failures, now)
        self.sent += len(delivered)
        if self.observer is not None:
            for item in delivered:
                self.observer(item)
        return len(delivered)

    async def _settle(
        self, delivered: list[OutboxItem], failures: list[tuple[OutboxItem, Exception]], now: datetime | None
    ) -> None:
        """Record what was sent and what failed; if the database has gone away meanwhile, wait for it (an
        item left ``sending`` would end ``unknown``, though it was sent)."""
        async for retry in AsyncRetrying(
            retry=retry_if_exception(database_unreachable),
            wait=wait_exponential(multiplier=0.5, max=10),
            stop=stop_after_delay(self.patience_seconds),
            reraise=True,
        ):
            with retry:
                async with self.sessions.begin() as session:
                    repo = OutboxRepo(session)
                    await repo.mark_sent([item.id for item in delivered], now or datetime.now(UTC))
                    for item, error in failures:
                        if isinstance(error, SendError) and error.deferred:
                            # Never tried: the platform's budget is spent. Back in the queue, no attempt counted.
                            retry_at = (now or datetime.now(UTC)) + timedelta(seconds=float(error.retry_after or 1.0))
                            await repo.defer(item.id, not_before=retry_at)
                            log.info("outbox #%d (%s) deferred to %s: %s", item.id, item.platform, retry_at, error)
                        else:
                            await self._retry_later(repo, item, error, now)

    async def _retry_later(self, repo: OutboxRepo, item: OutboxItem, exc: Exception, now: datetime | None) -> None:
        known = isinstance(exc, SendError)
        give_up = item.attempts + 1 >= MAX_ATTEMPTS or not known or bool(getattr(exc, "permanent", False))
        delay = backoff(item.attempts)
        hint = getattr(exc, "retry_after", None) if known else None
        if hint is not None:
            delay = max(delay, timedelta(seconds=float(hint)))
        retry_at = (now or datetime.now(UTC)) + delay
        await repo.mark_retry(item.id, error=repr(exc), not_before=retry_at, give_up=give_up)
        self.failed += 1
        log.warning(
            "sending outbox #%d (%s %s) failed (attempt %d)%s: %s",
            item.id,
            item.platform,
            item.kind,
            item.attempts + 1,
            "; giving up" if give_up else f"; retry at {retry_at.isoformat()}",
            exc,
        )

    def start(self) -> None:
        for platform in self.adapters:
            self._tasks.append(asyncio.create_task(self._worker(platform), name=f"outbox-{platform}"))
        self._tasks.append(asyncio.create_task(self._watch_stale(), name="outbox-stale"))

    async def _worker(self, platform: str) -> None:
        wake = self._wake[platform]
        while True:
            try:
                await self.drain(platform=platform)
            except Exception as exc:
                log_failure(log, exc, f"outbox worker for {platform}", "retrying shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.poll_seconds)
            wake.clear()

    async def _watch_stale(self) -> None:
        """Now and then, settle what a process that died mid-send left behind."""
        while True:
            await asyncio.sleep(STALE_AFTER.total_seconds() / 2)
            try:
                await self.recover(own=False)
            except Exception:
                log.exception("checking the outbox for abandoned sends failed; trying again later")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
