"""Reading a row that is about to be changed, so that what is written follows from what was read.

PostgreSQL locks the rows a query reads ``FOR UPDATE`` until the transaction ends. SQLite ignores ``FOR
UPDATE``, and its Python driver starts a transaction only at the first write: a read before it sees the
database as it is at that moment, and a writer committing in between (the sweep escalating the ticket) is
then overwritten by a write planned from the older read. SQLite has one writer at a time, so taking the
write lock before reading gives the same guarantee for the whole database.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OrgRevision

_REVISION = cast(Table, OrgRevision.__table__)
_TAKE = (
    update(_REVISION)
    .where(_REVISION.c.id == bindparam("b_none"))
    .values(revision=_REVISION.c.revision)
    .execution_options(synchronize_session=False)
)
"""Writes nothing (no row has id 0) but makes SQLite take the write lock and begin the transaction."""


async def lock_before_reading(session: AsyncSession) -> None:
    """On SQLite, hold the database's write lock from now until the transaction ends (waiting for a writer
    in progress to commit); elsewhere nothing: row locks are taken by the read itself."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(_TAKE, {"b_none": 0})
