"""Sending what was committed to the outbox: a worker per platform, retried with backoff; adapters pace their sends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapters.base import Adapter, SendError
from bot.outbox import to_message
from storage.models import OutboxItem
from storage.outbox_repo import OutboxRepo

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
    ) -> None:
        self.sessions = sessions
        self.adapters = dict(adapters)
        self.observer = observer
        self.poll_seconds = poll_seconds
        self._wake: dict[str, asyncio.Event] = {p: asyncio.Event() for p in self.adapters}
        self._tasks: list[asyncio.Task[None]] = []
        self.sent = 0
        self.failed = 0
        self.after_id: int | None = None
        """Send only items written after this one (``linli replay``: what its own messages caused)."""

    def nudge(self) -> None:
        for event in self._wake.values():
            event.set()

    async def recover(self) -> None:
        async with self.sessions.begin() as session:
            lost = await OutboxRepo(session).abandon_in_flight()
        if lost:
            log.warning("%d outbox item(s) were mid-send when linli stopped; marked unknown, not resent", lost)

    async def drain(self, now: datetime | None = None, platform: str | None = None) -> int:
        """Send everything due at ``now`` (default: the real clock); returns how many were sent."""
        platforms = [platform] if platform else list(self.adapters)
        sent = 0
        while True:
            clock = now or datetime.now(UTC)
            async with self.sessions() as session:
                due = await OutboxRepo(session).due(clock, limit=50, platforms=platforms, after_id=self.after_id)
            if not due:
                return sent
            for item in due:
                sent += await self._send_one(item, now)

    async def _send_one(self, item: OutboxItem, now: datetime | None) -> int:
        async with self.sessions.begin() as session:
            if not await OutboxRepo(session).claim(item.id):
                return 0
        try:
            await self.adapters[item.platform].send(to_message(item))
        except SendError as exc:
            if exc.deferred:
                # Never tried: the platform's budget is spent. Back in the queue, no attempt counted.
                retry_at = (now or datetime.now(UTC)) + timedelta(seconds=float(exc.retry_after or 1.0))
                async with self.sessions.begin() as session:
                    await OutboxRepo(session).defer(item.id, not_before=retry_at)
                log.info("outbox #%d (%s) deferred to %s: %s", item.id, item.platform, retry_at.isoformat(), exc)
                return 0
            return await self._failed(item, exc, now)
        except Exception as exc:
            return await self._failed(item, exc, now)
        async with self.sessions.begin() as session:
            await OutboxRepo(session).mark_sent(item.id, now or datetime.now(UTC))
        self.sent += 1
        if self.observer is not None:
            self.observer(item)
        return 1

    async def _failed(self, item: OutboxItem, exc: Exception, now: datetime | None) -> int:
        known = isinstance(exc, SendError)
        give_up = item.attempts + 1 >= MAX_ATTEMPTS or not known or bool(getattr(exc, "permanent", False))
        delay = backoff(item.attempts)
        hint = getattr(exc, "retry_after", None) if known else None
        if hint is not None:
            delay = max(delay, timedelta(seconds=float(hint)))
        retry_at = (now or datetime.now(UTC)) + delay
        async with self.sessions.begin() as session:
            await OutboxRepo(session).mark_retry(item.id, error=repr(exc), not_before=retry_at, give_up=give_up)
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
        return 0

    def start(self) -> None:
        for platform in self.adapters:
            self._tasks.append(asyncio.create_task(self._worker(platform), name=f"outbox-{platform}"))

    async def _worker(self, platform: str) -> None:
        wake = self._wake[platform]
        while True:
            try:
                await self.drain(platform=platform)
            except Exception:
                log.exception("outbox worker for %s hit an error; retrying shortly", platform)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.poll_seconds)
            wake.clear()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
