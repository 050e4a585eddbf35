"""The schema comes only from migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bot.app import Store
from storage import migrate
from storage.base import Base


async def test_models_and_migrations_agree(store: Store) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with store.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_upgrade_is_idempotent_and_reaches_head(store: Store) -> None:
    await migrate.upgrade(store.engine)
    revision = await migrate.current_revision(store.engine)
    assert revision == ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
