"""SQLAlchemy's aiosqlite dialect with one thread round trip per statement instead of four.

aiosqlite runs a connection's calls on its own thread; each call is a queue put, a thread switch and a
wake-up of the event loop. SQLAlchemy's adapter makes four such calls for every statement (open a
cursor, execute, fetch the rows, close the cursor), so on a busy machine a short statement spends most of
its time waiting for the two threads to be scheduled. This dialect sends one function per statement to
the connection's thread, which does all four there and hands back the rows with the cursor's
description, row count and last row id; commit and rollback make the trip only when a transaction is open.
Transactions, errors, isolation and the pool are the stock dialect's; what runs on the thread is the
standard library's ``sqlite3``.

It uses aiosqlite's ``Connection._execute`` (run a function on the connection's thread), which is how
aiosqlite implements every one of its own methods; ``tests/core/test_sqlite_driver.py`` pins the
behaviour SQLAlchemy relies on.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DRIVER = "linli_sqlite"
"""The driver name this dialect is registered under (``sqlite+linli_sqlite://``)."""

Outcome = tuple[Any, list[Any], int, int | None]


def _run(raw: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """On the connection's thread: execute, fetch everything, close; (description, rows, rowcount, lastrowid)."""
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement, rows and metadata travel in one round trip; nothing stays open after it."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:  # no aiosqlite cursor: opening one is a round trip
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._trip(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            return await_(self._trip(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _trip(self, operation: str, parameters: Any, *, many: bool) -> None:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            outcome: Outcome = await connection._execute(_run, connection._conn, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = deque(rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Commit and rollback go to the thread only when a transaction is open: sqlite3 does nothing otherwise,
    and the pool rolls back every connection it takes back, after a commit too."""

    __slots__ = ()
    _cursor_cls = OneTripCursor

    def _open(self) -> bool:
        connection = self._connection
        return bool(connection._connection) and bool(connection.in_transaction)

    def rollback(self) -> None:
        if self._open():
            super().rollback()

    def commit(self) -> None:
        if self._open():
            super().commit()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        stock = super().connect(*arg, **kw)
        return OneTripConnection(self, stock._connection)


class OneTripSQLiteDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


def register() -> None:
    """Make ``sqlite+linli_sqlite://`` resolve to this dialect (idempotent)."""
    registry.register(f"sqlite.{DRIVER}", __name__, "OneTripSQLiteDialect")
