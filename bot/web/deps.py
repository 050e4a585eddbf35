"""What the web sub-apps share: settings, the database, the clock, the service's status and metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings

if TYPE_CHECKING:
    from bot.job_runner import JobRunner
    from bot.message import IncomingMessage
    from bot.pipeline import FeedResult
    from bot.web.metrics import Metrics

StatusFn = Callable[[], dict[str, object]]


def utc_now() -> datetime:
    return datetime.now(UTC)


def always_ok() -> dict[str, object]:
    return {"ok": True}


@dataclass
class WebDeps:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    status: StatusFn = always_ok
    clock: Callable[[], datetime] = utc_now
    metrics: Metrics | None = None
    jobs: JobRunner | None = None
    """The service's job runner (its commits nudge the delivery workers); None: one without a nudge."""
    receive: Callable[[IncomingMessage], Awaitable[FeedResult]] | None = None
    """The service's one way in (``Service.receive``): Open311 reports are fed through it; None: no POST."""


DEPS: web.AppKey[WebDeps] = web.AppKey("linli_web_deps", WebDeps)


def deps(request: web.Request) -> WebDeps:
    return request.app[DEPS]
