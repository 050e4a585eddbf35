"""The composition root: the only module that wires storage, nlp, handlers, adapters and the web server."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.adapters.base import Adapter
from bot.adapters.open311 import Open311Adapter
from bot.adapters.simulated import SimulatedAdapter
from bot.adapters.wechaty import WechatyAdapter
from bot.adapters.wecom.adapter import WeComAdapter
from bot.delivery import Observer, OutboxDispatcher
from bot.job_runner import JobRunner
from bot.live_classifier import LiveClassifier
from bot.message import IncomingMessage
from bot.pipeline import FeedResult, Pipeline
from bot.scheduler import JobScheduler, JobSpec, cron, interval
from bot.web.deps import WebDeps
from bot.web.metrics import Metrics
from bot.web.server import create_admin_app
from bot.web.site import create_site
from config.org_file import load_org_file
from config.settings import Settings
from handlers import ROUTERS
from handlers.jobs import jobs as job_defs
from storage import migrate
from storage.engine import create_engine, session_factory
from storage.job_repo import ServiceLease
from storage.org_repo import OrgRepo

log = logging.getLogger(__name__)

LEASE_SECONDS = 20.0
"""How often a running service renews its lease on the database."""
LEASE_STALE = timedelta(seconds=90)
"""A lease older than this belongs to a service that is gone (killed without a clean stop)."""


class DatabaseInUse(Exception):
    """A running ``linli run`` holds this database; the text says which."""


async def refuse_if_live(store: Store, now: datetime | None = None) -> None:
    """Raise DatabaseInUse if a service renewed its lease on this database within ``LEASE_STALE``."""
    now = now or datetime.now(UTC)
    async with store.sessions() as session:
        holders = await ServiceLease(session).holders(now - LEASE_STALE)
    if holders:
        who = ", ".join(f"{key} ({(now - at).total_seconds():.0f}s ago)" for key, at in holders)
        raise DatabaseInUse(f"a running `linli run` uses this database: {who}")


@dataclass
class Store:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@contextlib.asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """An engine on the configured database, upgraded to the newest schema first."""
    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        yield Store(engine, session_factory(engine))
    finally:
        await engine.dispose()


async def import_org(store: Store, path: Path) -> dict[str, int]:
    spec = load_org_file(path)
    async with store.sessions.begin() as session:
        return await OrgRepo(session).import_spec(spec)


def build_scheduler(settings: Settings, runner: JobRunner) -> JobScheduler:
    """The handlers' jobs on APScheduler triggers."""
    tz = ZoneInfo(settings.timezone)
    specs = []
    for job in job_defs(settings):
        if job.every_seconds is not None:
            trigger = interval(job.every_seconds, tz)
        else:
            assert job.cron is not None
            trigger = cron(job.cron, tz, job.lead)
        specs.append(JobSpec(job.id, trigger, job.run))
    return JobScheduler(runner, specs, timezone=tz, misfire_grace_seconds=settings.schedule.misfire_grace_seconds)


@dataclass
class Service:
    """linli running: pipeline, outbox workers, adapters, HTTP server."""

    settings: Settings
    store: Store
    adapters: list[Adapter]
    observer: Observer | None = None
    pipeline: Pipeline = field(init=False)
    outbox: OutboxDispatcher = field(init=False)
    scheduler: JobScheduler = field(init=False)
    http_port: int | None = None
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    """This process, as its lease on the database names it."""
    admin_port: int | None = None
    _leased: bool = False
    _runner: web.AppRunner | None = None
    _admin: web.AppRunner | None = None
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.outbox = OutboxDispatcher(
            self.store.sessions, {a.platform: a for a in self.adapters}, observer=self.observer
        )
        self.classifier = LiveClassifier(self.settings.nlp)
        self.metrics = Metrics(self.store.sessions, self.status)
        self.pipeline = Pipeline(
            self.settings,
            self.store.sessions,
            self.metrics.timed(self.classifier),
            ROUTERS,
            on_commit=self.outbox.nudge,
        )
        self.jobs = JobRunner(self.store.sessions, self.settings, on_commit=self.outbox.nudge)
        self.scheduler = build_scheduler(self.settings, self.jobs)

    async def receive(self, msg: IncomingMessage, now: datetime | None = None) -> FeedResult:
        """What adapters call for every inbound message (``now``: the clock to stamp it with, for replays)."""
        return await self.pipeline.feed(msg, now)

    def status(self) -> dict[str, object]:
        adapters = {a.platform: a.health() for a in self.adapters}
        ok = all(bool(h.get("connected", True)) for h in adapters.values())
        return {
            "ok": ok,
            "adapters": adapters,
            "outbox": {"sent": self.outbox.sent, "failed": self.outbox.failed},
            "rules": self.classifier.status(),
        }

    def web_routes(self) -> list[web.AbstractRouteDef]:
        return [route for adapter in self.adapters for route in adapter.web_routes()]

    async def _renew_lease(self) -> None:
        while True:
            try:
                async with self.store.sessions.begin() as session:
                    await ServiceLease(session).hold(self.holder, datetime.now(UTC))
            except Exception as exc:
                log.warning("could not renew the service lease: %s", exc)
            await asyncio.sleep(LEASE_SECONDS)

    async def start(self, *, http: bool = True, watch_rules: bool = True) -> None:
        async with self.store.sessions.begin() as session:
            await ServiceLease(session).hold(self.holder, datetime.now(UTC))
        self._leased = True
        self._background.append(asyncio.create_task(self._renew_lease(), name="service-lease"))
        await self.outbox.recover()
        for adapter in self.adapters:
            await adapter.start(self.receive)
        self.outbox.start()
        if watch_rules and self.settings.nlp.watch_seconds > 0:
            watch = self.classifier.watch(self.settings.nlp.watch_seconds)
            self._background.append(asyncio.create_task(watch, name="rules-watch"))
        self.scheduler.start()
        if http:
            deps = WebDeps(
                self.settings,
                self.store.sessions,
                self.status,
                metrics=self.metrics,
                jobs=self.jobs,
                receive=self.receive,
            )
            app = create_site(deps, self.web_routes())
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.settings.http.host, self.settings.http.port)
            await site.start()
            self.http_port = int(self._runner.addresses[0][1])
            log.info("HTTP server on %s:%s", self.settings.http.host, self.http_port)
            admin = self.settings.admin
            if admin.port is not None:
                self._admin = web.AppRunner(create_admin_app(self.status), access_log=None)
                await self._admin.setup()
                await web.TCPSite(self._admin, admin.host, admin.port).start()
                self.admin_port = int(self._admin.addresses[0][1])
                log.info("admin listener (health details) on %s:%s", admin.host, self.admin_port)

    async def stop(self) -> None:
        await self.scheduler.stop()
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background.clear()
        for adapter in self.adapters:
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping the %s adapter failed", adapter.platform)
        await self.outbox.stop()
        for runner in (self._runner, self._admin):
            if runner is not None:
                await runner.cleanup()
        self._runner = self._admin = None
        if self._leased:
            try:
                async with self.store.sessions.begin() as session:
                    await ServiceLease(session).release(self.holder)
            except Exception as exc:
                log.warning("could not release the service lease (it goes stale by itself): %s", exc)
            self._leased = False


def default_adapters(settings: Settings) -> list[Adapter]:
    adapters: list[Adapter] = []
    if settings.wechaty.enabled:
        adapters.append(WechatyAdapter(settings.wechaty, max_text_chars=settings.max_message_chars))
    if settings.wecom.enabled:
        adapters.append(WeComAdapter(settings.wecom))
    if not adapters:
        log.info("no platform configured: running the simulated adapter only")
        adapters.append(SimulatedAdapter())
    if settings.open311.enabled:
        adapters.append(Open311Adapter())
    return adapters


async def run_forever(settings: Settings, stop: asyncio.Event, adapters: Sequence[Adapter] | None = None) -> None:
    async with open_store(settings) as store:
        if settings.org_file is not None:
            await import_org(store, settings.org_file)
        service = Service(settings, store, list(adapters) if adapters is not None else default_adapters(settings))
        await service.start()
        # Everything loaded so far (the classifier's dictionaries, the org) lives as long as the process:
        # keep it out of the collector's full passes, which otherwise pause a request for every walk over
        # it (bench/bench_desk.py measured 100 ms pauses on the desk's search without this).
        gc.collect()
        gc.freeze()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(service.classifier.reload_async()))
        log.info("linli is running; stop with Ctrl-C or SIGTERM, reload the rules with SIGHUP")
        try:
            await stop.wait()
        finally:
            await service.stop()
            log.info("linli stopped")
