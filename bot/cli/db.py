"""``linli db``: schema management."""

from __future__ import annotations

import asyncio

import click

from bot.app import open_store
from bot.cli.common import settings_or_exit
from storage import migrate


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command()
def upgrade() -> None:
    """Create or upgrade the schema to the newest revision."""
    settings = settings_or_exit()

    async def go() -> str | None:
        async with open_store(settings) as store:
            return await migrate.current_revision(store.engine)

    click.echo(f"schema at revision {asyncio.run(go())}", err=True)
