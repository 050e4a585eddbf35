"""The simulated platform: messages are injected by scripts and tests; what the bot sends is recorded."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from bot.adapters.base import Feed
from bot.message import IncomingMessage, OutgoingMessage

log = logging.getLogger(__name__)


class SimulatedAdapter:
    """A group chat that lives in memory; ``inject`` plays a member posting, ``sent`` is what the bot said."""

    def __init__(self, platform: str = "sim", on_send: Callable[[OutgoingMessage], None] | None = None) -> None:
        self.platform = platform
        self.sent: list[OutgoingMessage] = []
        self.on_send = on_send
        self._feed: Feed | None = None

    async def start(self, feed: Feed) -> None:
        self._feed = feed

    async def inject(self, message: IncomingMessage) -> None:
        if self._feed is None:
            raise RuntimeError("the simulated adapter is not started")
        await self._feed(message)

    async def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)
        if self.on_send is not None:
            self.on_send(message)

    async def stop(self) -> None:
        self._feed = None

    def health(self) -> dict[str, object]:
        return {"connected": self._feed is not None, "sent": len(self.sent)}

    def web_routes(self) -> list[web.RouteDef]:
        return []
