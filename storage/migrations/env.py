"""Alembic environment: runs on a connection handed in by storage.migrate, or on LINLI_DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage import council_models, models  # noqa: F401  (registers the tables)
from storage.base import Base

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    from config.settings import load_settings
    from storage.engine import create_engine

    engine = create_engine(load_settings().database_url)
    async with engine.begin() as conn:
        await conn.run_sync(run_on)
    await engine.dispose()


handed_in = context.config.attributes.get("connection")
if handed_in is not None:
    run_on(handed_in)
else:
    asyncio.run(run_from_settings())
