"""``linli users``: desk logins and API tokens. A user's scope is their person's place on the grid."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import open_store
from bot.cli.common import fail, settings_or_exit
from bot.web.credentials import digest, hash_password, new_api_token, password_problem
from storage.desk_repo import DeskRepo
from storage.models import DeskUser, Role
from storage.org_repo import OrgRepo

T = TypeVar("T")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    settings = settings_or_exit()

    async def go() -> T:
        async with open_store(settings) as store, store.sessions.begin() as session:
            return await work(session)

    return asyncio.run(go())


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码 password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem:
        fail(problem)
    return password


async def _user(session: AsyncSession, name: str) -> DeskUser:
    user = await DeskRepo(session).user(name)
    if user is None:
        fail(f"no user '{name}' (see `linli users list`)", code=1)
        raise AssertionError("unreachable")
    return user


@click.group()
def users() -> None:
    """Desk logins and API tokens."""


@users.command()
@click.argument("name")
@click.option("--person", "person_id", required=True, help="The person (id from `linli org show`) this login is for.")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
def add(name: str, person_id: str, password_stdin: bool) -> None:
    """Create login NAME for a building leader, branch secretary or committee member."""
    if not name or len(name) > 64 or any(ch.isspace() for ch in name):
        fail("a user name is 1-64 characters without spaces")
    password = _read_password(password_stdin)

    async def work(session: AsyncSession) -> str:
        person = await OrgRepo(session).person(person_id)
        if person is None or not person.active:
            return f"no active person '{person_id}' in the org"
        if person.role == Role.RESIDENT:
            return f"'{person_id}' is a resident; desk logins are for staff on the grid"
        repo = DeskRepo(session)
        if await repo.user(name) is not None:
            return f"user '{name}' exists already"
        await repo.add_user(name, person.id, hash_password(password), datetime.now(UTC))
        return ""

    problem = _in_transaction(work)
    if problem:
        fail(problem, code=1)
    click.echo(f"user {name} added for {person_id}", err=True)


@users.command()
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
def passwd(name: str, password_stdin: bool) -> None:
    """Set a new password; every open session of the user ends."""
    password = _read_password(password_stdin)

    async def work(session: AsyncSession) -> None:
        user = await _user(session, name)
        user.password_hash = hash_password(password)
        await DeskRepo(session).close_sessions_of(user)

    _in_transaction(work)
    click.echo(f"password of {name} changed", err=True)


@users.command()
@click.argument("name")
@click.option("--label", default="", help="What the token is for (shown by `users list`).")
def token(name: str, label: str) -> None:
    """Print a new API token for NAME (bearer token for /api/v1, api_key for Open311). Shown once."""
    secret = new_api_token()

    async def work(session: AsyncSession) -> None:
        user = await _user(session, name)
        if not user.active:
            fail(f"user '{name}' is disabled", code=1)
        await DeskRepo(session).add_token(user, digest(secret), label, datetime.now(UTC))

    _in_transaction(work)
    click.echo(secret)


@users.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke every API token of NAME."""

    async def work(session: AsyncSession) -> int:
        return await DeskRepo(session).revoke_tokens(await _user(session, name))

    click.echo(f"{_in_transaction(work)} token(s) of {name} revoked", err=True)


@users.command()
@click.argument("name")
def disable(name: str) -> None:
    """Disable NAME: no login, every session ends, every token is revoked."""

    async def work(session: AsyncSession) -> None:
        repo = DeskRepo(session)
        user = await _user(session, name)
        user.active = False
        await repo.close_sessions_of(user)
        await repo.revoke_tokens(user)

    _in_transaction(work)
    click.echo(f"user {name} disabled", err=True)


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """Every login with its person, role, unit and tokens (never the secrets)."""

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        repo = DeskRepo(session)
        org = OrgRepo(session)
        found = []
        for user in await repo.users():
            person = await org.person(user.person_id)
            tokens = await repo.tokens_of(user)
            found.append(
                {
                    "name": user.name,
                    "person": user.person_id,
                    "person_name": person.name if person else "",
                    "role": person.role if person else "",
                    "unit": person.unit_id if person else "",
                    "active": user.active,
                    "tokens": [
                        {
                            "label": t.label,
                            "created_at": t.created_at.isoformat(),
                            "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                            "revoked": t.revoked,
                        }
                        for t in tokens
                    ],
                }
            )
        return found

    rows = _in_transaction(work)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        live = sum(1 for t in row["tokens"] if not t["revoked"])
        state = "" if row["active"] else "（已停用）"
        click.echo(f"{row['name']}{state}  {row['person_name']} {row['role']} {row['unit']}  tokens: {live}")
