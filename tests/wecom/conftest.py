"""Fixtures: the fake WeCom API and linli's WeCom adapter behind a real aiohttp server, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.adapters.wecom.adapter import WeComAdapter
from bot.message import IncomingMessage
from config.settings import WeComSettings
from tests.wecom import driver as d
from tests.wecom.fake_api import FakeClock, FakeWeCom
from tests.wecom.fake_ws import FakeGateway

NOW = datetime(2024, 5, 6, 8, 30, tzinfo=UTC)


@dataclass
class Recorder:
    """The feed: records what the adapter delivers; can be held to prove the 200 comes first."""

    messages: list[IncomingMessage] = field(default_factory=list)
    gate: asyncio.Event | None = None

    async def __call__(self, msg: IncomingMessage) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.messages.append(msg)


@dataclass
class Harness:
    adapter: WeComAdapter
    client: TestClient[web.Request, web.Application]
    feed: Recorder
    fake: FakeWeCom
    clock: FakeClock
    aibot: d.Driver
    app: d.Driver

    async def post(self, path: str, query: str, body: bytes) -> int:
        resp = await self.client.post(f"{path}?{query}", data=body)
        await resp.read()
        return resp.status

    async def settle(self) -> None:
        await self.adapter.drain()


def settings_for(fake: FakeWeCom, **overrides: Any) -> WeComSettings:
    values: dict[str, Any] = {
        "corp_id": fake.corp_id,
        "agent_id": fake.agent_id,
        "secret": SecretStr(fake.secret),
        "token": SecretStr(d.APP_TOKEN),
        "aes_key": SecretStr(d.APP_AES_KEY),
        "aibot_token": SecretStr(d.AIBOT_TOKEN),
        "aibot_aes_key": SecretStr(d.AIBOT_AES_KEY),
        "api_base": fake.base_url,
        "webhooks": {"wrchat3dong": SecretStr("hook-3dong")},
    }
    values.update(overrides)
    return WeComSettings(**values)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeWeCom]:
    fake = FakeWeCom(clock)
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    gateway = FakeGateway()
    server = TestServer(gateway.app(), host="127.0.0.1")
    await server.start_server()
    gateway.url = str(server.make_url("/")).replace("http://", "ws://")
    yield gateway
    await server.close()


StartHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start_harness(fake: FakeWeCom, clock: FakeClock) -> AsyncIterator[StartHarness]:
    async with AsyncExitStack() as stack:

        async def start(*, wall: Callable[[], float] | None = None, **overrides: Any) -> Harness:
            """``wall``: the clock callback timestamps are checked against (default: the real one)."""
            settings = settings_for(fake, **overrides)
            extra = {"wall": wall} if wall is not None else {}
            adapter = WeComAdapter(settings, clock=clock, sleep=clock.sleep, now=lambda: NOW, **extra)
            app = web.Application()
            app.add_routes(adapter.web_routes())
            client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
            await client.start_server()
            stack.push_async_callback(client.close)
            feed = Recorder()
            await adapter.start(feed)
            stack.push_async_callback(adapter.stop)
            return Harness(
                adapter,
                client,
                feed,
                fake,
                clock,
                aibot=d.Driver(d.AIBOT_TOKEN, d.AIBOT_AES_KEY, ""),
                app=d.Driver(d.APP_TOKEN, d.APP_AES_KEY, fake.corp_id),
            )

        yield start


@pytest.fixture
async def harness(start_harness: StartHarness) -> Harness:
    return await start_harness()
