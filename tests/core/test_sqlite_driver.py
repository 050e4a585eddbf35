"""The SQLite driver: short statements at once, the rest in one thread round trip, and everything SQLAlchemy
reads from a cursor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from storage.sqlite_driver import BUSY_TIMEOUT_MS, DRIVER

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String, unique=True))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def test_the_configured_aiosqlite_url_runs_on_the_one_trip_driver(engine: AsyncEngine) -> None:
    assert engine.dialect.driver == DRIVER
    async with engine.connect() as conn:
        assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"


def count_trips(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    trips: list[Any] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


async def test_short_statements_run_at_once_and_the_rest_take_one_round_trip(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as conn:
        await conn.execute(select(things))  # the connection is open and its first-use queries are done
    trips = count_trips(monkeypatch)
    async with engine.begin() as conn:
        await conn.execute(insert(things).values(name="a"))
        await conn.execute(update(things).where(things.c.id == 1).values(name="b"))
        rows = (await conn.execute(select(things.c.name))).all()
    assert rows == [("b",)]
    assert len(trips) == 1  # the commit; the pool's rollback has nothing to undo
    trips.clear()
    async with engine.begin() as conn:
        # not bounded by its parameters: it could touch the whole table
        await conn.execute(update(things).where(things.c.name == "b").values(name="c"))
    assert len(trips) == 2  # that statement and the commit
    trips.clear()
    async with engine.begin() as conn:
        assert await conn.scalar(select(things.c.name)) == "c"
    assert not trips  # reading opened no transaction: nothing to commit or roll back


async def test_a_long_read_is_stopped_and_run_on_the_thread_with_the_transaction_intact(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_read = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT count(*) FROM n"
    )
    async with engine.connect() as conn:
        await conn.execute(select(things))
    trips = count_trips(monkeypatch)
    async with engine.begin() as conn:
        await conn.execute(insert(things).values(name="kept"))
        assert await conn.scalar(long_read) == 200000
    assert len(trips) == 2  # the read, stopped and run again on the thread, and the commit
    async with engine.connect() as conn:
        assert await conn.scalar(select(things.c.name)) == "kept"


async def test_a_locked_database_is_waited_for_on_the_thread_while_the_loop_runs_on(engine: AsyncEngine) -> None:
    """Another connection of this process holds the write lock: a write that ran at once would stall the event
    loop, and with it the holder, until the busy timeout. It waits on the thread instead."""
    holder = await engine.connect()
    await holder.execute(insert(things).values(name="first"))  # holds the write lock until it commits
    loop = asyncio.get_running_loop()
    gaps: list[float] = []

    async def release_soon() -> None:
        last = loop.time()
        for _ in range(5):
            await asyncio.sleep(0.02)
            gaps.append(loop.time() - last)
            last = loop.time()
        await holder.commit()

    releasing = asyncio.create_task(release_soon())
    async with engine.begin() as conn:
        await conn.execute(insert(things).values(name="second"))
    await releasing
    await holder.close()
    # the loop never stood still for anything like the busy timeout (15 s) while the write waited
    assert len(gaps) == 5
    assert max(gaps) < BUSY_TIMEOUT_MS / 1000 / 3
    async with engine.connect() as conn:
        assert sorted((await conn.execute(select(things.c.name))).scalars()) == ["first", "second"]


async def test_a_transaction_given_up_is_rolled_back(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(insert(things).values(name="a"))
        await conn.rollback()
        await conn.execute(insert(things).values(name="b"))
    # closed without a commit: the pool rolled it back
    async with engine.connect() as conn:
        assert (await conn.execute(select(things.c.name))).all() == []


async def test_rows_counts_ids_and_errors_come_back_as_from_sqlite3(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        inserted = await conn.execute(insert(things).values(name="a"))
        assert inserted.inserted_primary_key == (1,)
        returned = await conn.execute(insert(things).returning(things.c.id), [{"name": "b"}, {"name": "c"}])
        assert sorted(returned.scalars().all()) == [2, 3]
        await conn.execute(insert(things), [{"name": "d"}, {"name": "e"}])  # executemany
        changed = await conn.execute(update(things).where(things.c.id > 3).values(name=things.c.name + "!"))
        assert changed.rowcount == 2
        result = await conn.execute(select(things.c.id, things.c.name).order_by(things.c.id))
        assert list(result.keys()) == ["id", "name"]
        assert result.all() == [(1, "a"), (2, "b"), (3, "c"), (4, "d!"), (5, "e!")]
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(things).values(name="a"))
    async with engine.connect() as conn:
        assert await conn.scalar(select(things.c.name).where(things.c.id == 5)) == "e!"
