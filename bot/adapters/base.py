"""The contract between the runtime and a platform adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from bot.message import IncomingMessage, OutgoingMessage

Feed = Callable[[IncomingMessage], Awaitable[object]]
"""Hands one inbound message to the core; returns once it is stored (or raises if it could not be)."""


class SendError(Exception):
    """A platform refused or failed to deliver a message; the outbox retries it with backoff.

    ``retry_after`` (seconds) asks for a later retry than the backoff would give; ``permanent`` says a
    retry cannot help (an unknown recipient, a removed webhook), so the outbox gives up at once.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False, deferred: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.deferred = deferred
        """Not tried at all (a send budget is spent): put back for ``retry_after`` without counting an attempt."""


class Adapter(Protocol):
    """Translates one platform to linli's message types and back; nothing more."""

    platform: str

    async def start(self, feed: Feed) -> None:
        """Connect and begin delivering inbound messages to ``feed``; returns once connected."""

    async def send(self, message: OutgoingMessage) -> None:
        """Deliver one outbound message or raise ``SendError``."""

    async def stop(self) -> None:
        """Disconnect and release resources."""

    def health(self) -> dict[str, object]:
        """A small JSON-able status for ``/healthz``."""

    def web_routes(self) -> list[web.RouteDef]:
        """Routes for the service's HTTP server (platform callbacks); none for most adapters."""


class AdapterStartError(Exception):
    """An adapter could not connect (wrong token, unreachable endpoint); ``linli run`` exits non-zero."""
