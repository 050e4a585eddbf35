"""``linli users``: logins for staff only, secrets stored as hashes, tokens shown once and revocable."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.app import open_store
from bot.cli import main
from bot.web.credentials import digest, verify_password
from config.settings import Settings
from storage.models import ApiToken, DeskUser
from tests.conftest import EXAMPLE_ORG


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"}
    assert CliRunner().invoke(main, ["org", "import", str(EXAMPLE_ORG)], env=env).exit_code == 0
    return env


def rows(env: dict[str, str], model: type[DeskUser] | type[ApiToken]) -> list[object]:
    async def go() -> list[object]:
        async with open_store(Settings(database_url=env["LINLI_DATABASE_URL"])) as store, store.sessions() as s:
            return list((await s.scalars(select(model))).all())

    return asyncio.run(go())


def test_add_stores_an_argon2_hash_never_the_password(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        main, ["users", "add", "chen", "--person", "p-chen", "--password-stdin"], input="correct horse 1\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "correct horse" not in result.output
    (user,) = rows(env, DeskUser)
    assert isinstance(user, DeskUser)
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "correct horse 1")
    assert not verify_password(user.password_hash, "wrong horse 1")


@pytest.mark.parametrize(
    ("person", "password", "why"),
    [
        ("p-wang", "long enough pw", "resident"),
        ("p-nobody", "long enough pw", "no active person"),
        ("p-chen", "short", ""),
    ],
)
def test_add_refuses_residents_strangers_and_short_passwords(
    env: dict[str, str], person: str, password: str, why: str
) -> None:
    result = CliRunner().invoke(
        main, ["users", "add", "x", "--person", person, "--password-stdin"], input=password + "\n", env=env
    )
    assert result.exit_code != 0
    assert why in result.output
    assert rows(env, DeskUser) == []


def test_token_is_printed_once_and_only_its_hash_kept_then_revoked(env: dict[str, str]) -> None:
    runner = CliRunner()
    runner.invoke(
        main, ["users", "add", "tan", "--person", "p-tan", "--password-stdin"], input="branch pass 1\n", env=env
    )
    result = runner.invoke(main, ["users", "token", "tan", "--label", "12345 热线"], env=env)
    assert result.exit_code == 0
    secret = result.stdout.strip()
    assert secret.startswith("lnl_")
    assert len(secret) > 40
    (token,) = rows(env, ApiToken)
    assert isinstance(token, ApiToken)
    assert token.token_hash == digest(secret)
    assert secret not in token.token_hash
    listed = json.loads(runner.invoke(main, ["users", "list", "--json"], env=env).stdout)
    assert listed[0]["tokens"][0]["label"] == "12345 热线"
    assert secret not in json.dumps(listed)
    assert runner.invoke(main, ["users", "revoke", "tan"], env=env).exit_code == 0
    (token,) = rows(env, ApiToken)
    assert isinstance(token, ApiToken)
    assert token.revoked


def test_disable_revokes_tokens_too(env: dict[str, str]) -> None:
    runner = CliRunner()
    runner.invoke(
        main, ["users", "add", "li", "--person", "p-li", "--password-stdin"], input="leader pass 1\n", env=env
    )
    runner.invoke(main, ["users", "token", "li"], env=env)
    assert runner.invoke(main, ["users", "disable", "li"], env=env).exit_code == 0
    (user,) = rows(env, DeskUser)
    (token,) = rows(env, ApiToken)
    assert isinstance(user, DeskUser)
    assert isinstance(token, ApiToken)
    assert not user.active
    assert token.revoked
