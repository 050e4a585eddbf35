"""``linli org``: import and show the organisation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from bot.app import import_org, open_store
from bot.cli.common import fail, settings_or_exit
from config.org_file import OrgFileError, load_org_file
from storage.household_repo import HouseholdRepo
from storage.org_repo import OrgRepo


@click.group()
def org() -> None:
    """The community grid: units, people, groups."""


@org.command("import")
@click.argument("file", type=click.Path(path_type=Path))
def import_(file: Path) -> None:
    """Load FILE.yaml into the database (idempotent, all or nothing)."""
    settings = settings_or_exit()
    try:
        load_org_file(file)  # refuse a broken file before touching the database
    except OrgFileError as exc:
        fail(str(exc))

    async def go() -> dict[str, int]:
        async with open_store(settings) as store:
            return await import_org(store, file)

    counts = asyncio.run(go())
    click.echo(
        f"imported {file}: {counts['units']} units, {counts['people']} people, {counts['groups']} groups, "
        f"{counts['co_units']} co-building units, {counts['households']} households",
        err=True,
    )


async def org_json(repo: OrgRepo) -> dict[str, Any]:
    """The stable shape of ``org show --json``; ``households`` (docs/council.md) came later, beside the rest."""
    households = await HouseholdRepo(repo.session).all()
    members = await HouseholdRepo(repo.session).all_members()
    communities = await repo.communities()
    groups = await repo.all_groups()
    people = await repo.all_people()
    return {
        "communities": [{"id": c.id, "name": c.name} for c in communities],
        "groups": [
            {"platform": g.platform, "chat_id": g.chat_id, "name": g.name, "unit": g.unit_id}
            for g in groups
            if g.unit_id is not None
        ],
        "people": [
            {
                "id": p.id,
                "name": p.name,
                "role": p.role,
                "unit": p.unit_id,
                "platform_ids": {i.platform: i.user_id for i in sorted(p.identities, key=lambda i: i.platform)},
            }
            for p in people
        ],
        "households": [
            {"id": h.id, "unit": h.unit_id, "room": h.room, "owner": h.owner, "members": members.get(h.id, [])}
            for h in households
            if h.active
        ],
    }


@org.command()
@click.option("--json", "as_json", is_flag=True, help="Print the org as one JSON object.")
def show(as_json: bool) -> None:
    """Show the imported organisation."""
    settings = settings_or_exit()

    async def go() -> dict[str, Any]:
        async with open_store(settings) as store, store.sessions() as session:
            return await org_json(OrgRepo(session))

    data = asyncio.run(go())
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for community in data["communities"]:
        click.echo(f"{community['name']} ({community['id']})")
    click.echo(f"{len(data['groups'])} groups, {len(data['people'])} people")
    for person in data["people"]:
        ids = ", ".join(f"{k}:{v}" for k, v in person["platform_ids"].items())
        click.echo(f"  {person['name']:<8} {person['role']:<17} {person['unit']:<10} {ids}")


@org.command()
@click.option("--json", "as_json", is_flag=True)
def unbound(as_json: bool) -> None:
    """Groups the bot has seen that the org does not know, with their message counts."""
    settings = settings_or_exit()

    async def go() -> list[dict[str, Any]]:
        async with open_store(settings) as store, store.sessions() as session:
            rows = await OrgRepo(session).unbound_groups()
        return [{"platform": g.platform, "chat_id": g.chat_id, "name": g.name, "messages": n} for g, n in rows]

    rows = asyncio.run(go())
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['platform']}:{row['chat_id']}  {row['name']}  {row['messages']} messages")
