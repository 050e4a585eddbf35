"""The SQLite driver: one thread round trip per statement, and everything SQLAlchemy reads from a cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from storage.sqlite_driver import DRIVER

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


async def test_a_statement_is_one_round_trip_to_the_connection_thread(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as conn:
        await conn.execute(select(things))  # the connection is open and its first-use queries are done
    trips = count_trips(monkeypatch)
    async with engine.begin() as conn:
        await conn.execute(insert(things).values(name="a"))
        rows = (await conn.execute(select(things.c.name))).all()
    assert rows == [("a",)]
    assert len(trips) == 2 + 1  # two statements and the commit; the pool's rollback has nothing to undo
    trips.clear()
    async with engine.begin() as conn:
        assert await conn.scalar(select(things.c.name)) == "a"
    assert len(trips) == 1  # reading opened no transaction: nothing to commit or roll back


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
