"""A database that goes away for a while loses nothing: the message waits and is stored when it is back."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service, import_org, open_store
from bot.message import NotStored
from bot.pipeline import database_unreachable
from config.settings import Settings
from storage.engine import create_engine
from storage.models import Message, Ticket
from tests.conftest import EXAMPLE_ORG, Chat
from tests.postgres import PostgresServer


async def test_message_during_an_outage_is_stored_when_the_database_returns(own_postgres: PostgresServer) -> None:
    settings = Settings(database_url=own_postgres.fresh_database_url(), database_retry_seconds=60)
    async with open_store(settings) as store:
        await import_org(store, EXAMPLE_ORG)
        adapter = SimulatedAdapter()
        service = Service(settings, store, [adapter])
        chat = Chat("sim-sdc-3")
        await service.receive(chat.msg("r-1", "门口垃圾没人收"))

        await asyncio.to_thread(own_postgres.pause)
        pending = asyncio.create_task(service.receive(chat.msg("r-2", "6楼走廊灯坏了")))
        await asyncio.sleep(2)  # the message is waiting for the database, not lost
        assert not pending.done()
        await asyncio.to_thread(own_postgres.resume)
        result = await asyncio.wait_for(pending, timeout=60)

        assert result.stored
        async with store.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Message)) == 2
            assert await session.scalar(select(func.count()).select_from(Ticket)) == 2
        await service.stop()


async def test_an_outage_longer_than_the_patience_is_reported_not_swallowed(own_postgres: PostgresServer) -> None:
    settings = Settings(database_url=own_postgres.fresh_database_url(), database_retry_seconds=1)
    async with open_store(settings) as store:
        service = Service(settings, store, [SimulatedAdapter()])
        await asyncio.to_thread(own_postgres.pause)
        try:
            with pytest.raises(NotStored) as caught:
                await service.receive(Chat("sim-sdc-3").msg("r-1", "6楼走廊灯坏了"))
            assert isinstance(caught.value.__cause__, OSError | DBAPIError)
            assert database_unreachable(caught.value.__cause__)
        finally:
            await asyncio.to_thread(own_postgres.resume)


async def test_a_server_refusing_connections_while_it_stops_counts_as_unreachable(own_postgres: PostgresServer) -> None:
    """Every stop and start has a moment when the server answers but refuses connections (SQLSTATE 57P03):
    that is the database being away, to wait for, not a bad statement to give up on."""
    engine = create_engine(own_postgres.fresh_database_url())
    holder = create_engine(own_postgres.fresh_database_url())
    try:
        async with holder.connect() as held:
            await held.execute(text("SELECT 1"))
            await asyncio.to_thread(own_postgres.begin_smart_stop)
            with pytest.raises(DBAPIError) as caught:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            assert "shutting down" in str(caught.value)
            assert database_unreachable(caught.value)
    finally:
        await holder.dispose()
        await engine.dispose()
        await asyncio.to_thread(own_postgres.pause)
        await asyncio.to_thread(own_postgres.resume)
