"""Shared fixtures: a fresh store per test, the example org, a service on the simulated platform."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service, Store, import_org, open_store
from bot.message import IncomingMessage
from config.settings import Settings
from tests.harness import EXAMPLE_ORG, running
from tests.postgres import PostgresServer

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=SHANGHAI)


def _block_network(host: str) -> None:
    if host not in ("127.0.0.1", "localhost", "::1", "") and not host.startswith("/"):
        raise RuntimeError(f"tests must not reach the network ({host})")


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if isinstance(address, tuple) and address:
            _block_network(str(address[0]))
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("LINLI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LINLI_CONFIG", str(tmp_path / "absent-linli.yaml"))
    monkeypatch.delenv("LINLI_CONFIG")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, for tests that stop and start it."""
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.fresh_database_url()
    return f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    async with open_store(settings) as opened:
        await import_org(opened, EXAMPLE_ORG)
        yield opened


@pytest.fixture
async def sim(settings: Settings) -> AsyncIterator[tuple[Service, SimulatedAdapter]]:
    """The service on the simulated platform, driven by the test (``receive``, then ``outbox.drain``)."""
    adapter = SimulatedAdapter()
    async with running(settings, [adapter], start=False) as it:
        yield it.service, adapter


class Chat:
    """Builds messages in one group as if members were typing, one minute apart (or ``step``)."""

    def __init__(
        self, chat_id: str, platform: str = "sim", start: datetime = T0, step: timedelta = timedelta(minutes=1)
    ) -> None:
        self.chat_id = chat_id
        self.platform = platform
        self.clock = start
        self.step = step
        self.counter = 0

    def msg(
        self, sender_id: str, text: str, *, name: str | None = None, message_id: str | None = None
    ) -> IncomingMessage:
        self.counter += 1
        self.clock += self.step
        return IncomingMessage(
            platform=self.platform,
            chat_id=self.chat_id,
            chat_name=self.chat_id,
            sender_id=sender_id,
            sender_name=name or sender_id,
            text=text,
            message_id=message_id or f"{self.chat_id}-{self.counter}",
            time=self.clock,
        )
