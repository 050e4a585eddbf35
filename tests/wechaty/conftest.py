"""Fixtures for the wechaty adapter: a recording feed, the Node peer, an adapter connected to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from bot.message import IncomingMessage
from config.settings import RateLimit, WechatySettings
from tests.wechaty.peer import Peer, ensure_node_modules, free_port, node_or_fail

TOKEN = "linli-test-token"


class Inbox:
    """A recording ``feed``: what the adapter handed to the core, in order."""

    def __init__(self) -> None:
        self.messages: list[IncomingMessage] = []
        self._changed = asyncio.Condition()

    async def feed(self, message: IncomingMessage) -> None:
        async with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[IncomingMessage], bool], within: float = 10.0) -> IncomingMessage:
        async def find() -> IncomingMessage:
            async with self._changed:
                while True:
                    for message in self.messages:
                        if predicate(message):
                            return message
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), within)
        except TimeoutError:
            raise AssertionError(f"feed: nothing matched in {within}s; got {self.messages[-5:]}") from None

    async def wait_count(self, count: int, within: float = 10.0) -> list[IncomingMessage]:
        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.messages) >= count)

        try:
            await asyncio.wait_for(reached(), within)
        except TimeoutError:
            raise AssertionError(f"feed: {len(self.messages)} of {count} messages in {within}s") from None
        return self.messages

    def by_id(self, message_id: str) -> IncomingMessage:
        return next(m for m in self.messages if m.message_id == message_id)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture(scope="session")
def node() -> str:
    path = node_or_fail()
    ensure_node_modules()
    return path


@pytest.fixture
async def peer(node: str) -> AsyncIterator[Peer]:
    running = Peer(free_port(), TOKEN)
    await running.start(node)
    try:
        yield running
    finally:
        await running.stop()


def fast_settings(endpoint: str, **overrides: Any) -> WechatySettings:
    """Settings for tests: quick reconnects and limits loose enough for a burst, still enforced."""
    values: dict[str, Any] = {
        "endpoint": endpoint,
        "token": SecretStr(TOKEN),
        "account_limit": RateLimit(per_second=50, per_minute=100_000),
        "room_limit": RateLimit(per_second=25, per_minute=100_000),
        "connect_timeout_seconds": 10.0,
        "reconnect_initial_seconds": 0.1,
        "reconnect_max_seconds": 1.0,
        "send_wait_seconds": 10.0,
    }
    values.update(overrides)
    return WechatySettings(**values)


@pytest.fixture
async def adapter(world: Peer, inbox: Inbox) -> AsyncIterator[Any]:
    """A wechaty adapter connected to the module's ``world`` (each module sets up its own peer world)."""
    from bot.adapters.wechaty import WechatyAdapter

    running = WechatyAdapter(fast_settings(world.endpoint))
    await running.start(inbox.feed)
    try:
        yield running
    finally:
        await running.stop()
