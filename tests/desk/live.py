"""A live linli web server on 127.0.0.1 in its own thread and event loop, for clients that are not asyncio
(schemathesis and georeport use requests; Playwright drives a browser)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from bot.app import open_store
from bot.web.deps import WebDeps
from bot.web.site import create_site
from config.settings import Settings
from tests.desk.conftest import World, build_world

T = TypeVar("T")


class LiveServer:
    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.settings = settings
        self.tmp_path = tmp_path
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="linli-live-server", daemon=True)
        self.world: World
        self.url = ""
        self._stop = asyncio.Event()
        self._done: Future[None] | None = None

    def start(self) -> LiveServer:
        self.thread.start()
        ready: Future[None] = Future()
        self._done = asyncio.run_coroutine_threadsafe(self._serve(ready), self.loop)
        ready.result(timeout=120)
        return self

    async def _serve(self, ready: Future[None]) -> None:
        try:
            async with open_store(self.settings) as store:
                self.world = await build_world(self.settings, store, self.tmp_path)
                app = create_site(
                    WebDeps(self.settings, store.sessions, clock=self.world.clock, receive=self.world.service.receive)
                )
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                port = runner.addresses[0][1]
                self.url = f"http://127.0.0.1:{port}"
                ready.set_result(None)
                await self._stop.wait()
                await runner.cleanup()
                await self.world.service.stop()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    def run(self, work: Callable[[], Awaitable[T]] | Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (to read the database the server writes)."""
        coroutine = work if asyncio.iscoroutine(work) else work()  # type: ignore[operator]
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        if self._done is not None:
            with contextlib.suppress(Exception):
                self._done.result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()
