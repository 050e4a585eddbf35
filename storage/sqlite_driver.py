"""SQLAlchemy's aiosqlite dialect: short statements run where they are asked, the rest with one thread
round trip instead of four.

aiosqlite runs a connection's calls on its own thread; each call is a queue put, a thread switch and a
wake-up of the event loop. SQLAlchemy's adapter makes four such calls for every statement (open a
cursor, execute, fetch the rows, close the cursor), so on a busy machine a short statement spends most of
its time waiting for the two threads to be scheduled. This dialect sends one function per statement to
the connection's thread, which does all four there and hands back the rows with the cursor's
description, row count and last row id; commit and rollback make the trip only when a transaction is open.
Transactions, errors, isolation and the pool are the stock dialect's; what runs on the thread is the
standard library's ``sqlite3``.

Most statements on the message path are short: a lookup by an index, an insert of a few rows, an update
by primary key. Even one round trip costs more than running them, so those run at once on the caller's
thread (the connection is opened with ``check_same_thread=False``; a connection serves one statement at a
time, under the adapter's mutex, and the caller waits for it either way). Two things must never block the
event loop there: a lock held by another connection (which may be this process's own, waiting for the
loop) and a statement that turns out long. So a statement run at once waits for no lock (the connection's
busy timeout is 0; on the thread, commits too, it is ``BUSY_TIMEOUT_MS``) and a SELECT may run only
``INLINE_STEPS`` steps of SQLite's virtual machine; a statement stopped by either goes to the thread, where
it waits for locks and runs as long as it needs. Stopping a SELECT leaves the transaction as it was; an
INSERT or UPDATE is never stopped (only those bounded by their own parameters run at once: ``INSERT ...
VALUES`` and ``UPDATE ... WHERE <table>.id = ?`` or ``IN (?, ...)``).

It uses aiosqlite's ``Connection._execute`` (run a function on the connection's thread), which is how
aiosqlite implements every one of its own methods; ``tests/core/test_sqlite_driver.py`` pins the
behaviour SQLAlchemy relies on.
"""

from __future__ import annotations

import re
import sqlite3
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

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
BUSY_TIMEOUT_MS = 15_000
"""How long a statement on the connection's thread waits for another connection's lock."""

Outcome = tuple[Any, list[Any], int, int | None]
T = TypeVar("T")

INLINE_STEPS = 40_000
"""How many virtual machine steps a SELECT may take on the caller's thread (a few milliseconds) before it
is stopped and run on the connection's thread instead."""
_STEPS_PER_CHECK = 10_000
_READS = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
_BOUNDED_WRITES = re.compile(
    r"\s*(INSERT INTO \S+ \([^()]*\) VALUES \((?:[?, ]|\), \()*\)(?: RETURNING [\w., ]+)?"
    r"|UPDATE \S+ SET [^()]* WHERE \w+\.id (?:= \?|IN \((?:\?, )*\?\)))\s*$",
    re.IGNORECASE,
)
_STOPPED = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_INTERRUPT)


def runs_inline(operation: str) -> bool | None:
    """Whether a statement may run on the caller's thread: None (no), False (yes, never stopped: a bounded
    write), True (yes, stopped after ``INLINE_STEPS``: a read)."""
    if _READS.match(operation):
        return True
    if _BOUNDED_WRITES.match(operation):
        return False
    return None


def _run_inline(raw: sqlite3.Connection, operation: str, parameters: Any, many: bool, budget: bool) -> Outcome | None:
    """On the caller's thread, waiting for no lock and (``budget``) running not long; None if stopped."""
    checks = 0

    def over_budget() -> bool:
        nonlocal checks
        checks += 1
        return checks * _STEPS_PER_CHECK > INLINE_STEPS

    if budget:
        raw.set_progress_handler(over_budget, _STEPS_PER_CHECK)
    try:
        return _run(raw, operation, parameters, many)
    except sqlite3.OperationalError as error:
        if (error.sqlite_errorcode & 0xFF) in _STOPPED:  # the primary code, whatever the extended one
            return None
        raise
    finally:
        if budget:
            raw.set_progress_handler(None, 0)


def _waiting(raw: sqlite3.Connection, work: Callable[..., T], *args: Any) -> T:
    """On the connection's thread: ``work`` waiting up to ``BUSY_TIMEOUT_MS`` for another connection's lock
    (the connection's own busy timeout is 0, for what runs on the caller's thread)."""
    raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        return work(*args)
    finally:
        raw.execute("PRAGMA busy_timeout=0")


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
        inline = runs_inline(operation)
        async with self._adapt_connection._execute_mutex:
            raw = connection._conn
            outcome = None if inline is None else _run_inline(raw, operation, parameters, many, inline)
            if outcome is None:
                outcome = await connection._execute(_waiting, raw, _run, raw, operation, parameters, many)
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
            raw = self._connection._conn
            try:
                await_(self._connection._execute(_waiting, raw, raw.commit))
            except Exception as error:
                self._handle_exception(error)


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
