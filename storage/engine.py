"""Engine and session factories; nothing is created at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import sqlite_driver
from storage.org_repo import shared_org_cache

SQLITE_BUSY_TIMEOUT_MS = sqlite_driver.BUSY_TIMEOUT_MS


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite runs in WAL mode with a busy timeout so readers and a writer coexist, through
    aiosqlite, short statements on the caller's thread and the rest in one round trip (``storage.sqlite_driver``)."""
    parsed = make_url(url)
    # hide_parameters: errors and logs show the statement, never the values (what residents wrote).
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_driver_name() == "aiosqlite":  # the same driver, short statements without the thread hop
        sqlite_driver.register()
        parsed = parsed.set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
    ours = parsed.get_driver_name() == sqlite_driver.DRIVER
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    if ours:
        connect_args["check_same_thread"] = False  # short statements run on the caller's thread
    # linli's driver waits for locks only on its thread, setting the timeout there (storage.sqlite_driver)
    resting_busy_timeout = 0 if ours else SQLITE_BUSY_TIMEOUT_MS
    engine = create_async_engine(parsed, connect_args=connect_args, hide_parameters=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={resting_busy_timeout}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that share one ``OrgCache``: the org is read once per process, not once per message."""
    return async_sessionmaker(engine, expire_on_commit=False, info=shared_org_cache())
