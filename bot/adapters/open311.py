"""The Open311 platform: reports that other systems submit through /open311/v2 (bot/web/open311.py).

Inbound requests arrive over HTTP and are fed to the pipeline by the web layer, which knows the grid.
Outbound, there is nobody to push to: an Open311 client reads a request's status and notes by polling
GET requests/{id}.json, so what linli would say in the request's "group" is delivered by being recorded
(the outbox row is marked sent, and the desk shows it). Leaders are told on their own platforms.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.adapters.base import Feed
from bot.message import OutgoingMessage, Platform

log = logging.getLogger(__name__)

PLATFORM = Platform.OPEN311.value


class Open311Adapter:
    platform = PLATFORM

    def __init__(self) -> None:
        self.delivered = 0

    async def start(self, feed: Feed) -> None:
        """Nothing to connect to: the web layer feeds requests in."""

    async def send(self, message: OutgoingMessage) -> None:
        self.delivered += 1
        log.debug("open311: %s recorded for polling clients", message.kind)

    async def stop(self) -> None:
        return None

    def health(self) -> dict[str, object]:
        return {"connected": True, "delivered": self.delivered}

    def web_routes(self) -> list[web.RouteDef]:
        return []
