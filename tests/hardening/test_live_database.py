"""`linli replay` and `linli demo` never touch a live service's database; demo keeps its own file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.app import Service, import_org, open_store
from config.settings import Settings
from tests.conftest import EXAMPLE_ORG
from tests.core.test_cli import linli
from tests.hardening.conftest import TWO_COMMUNITIES

RECORD = (
    '{"platform": "sim", "chat_id": "sim-sdc-3", "sender_id": "r1", "sender_name": "陈生", '
    '"text": "6楼走廊灯坏了", "message_id": "m1", "time": "2026-11-16T09:00:00+08:00"}\n'
)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"


async def test_replay_refuses_a_database_a_running_service_holds(tmp_path: Path, db: str) -> None:
    infile = tmp_path / "in.jsonl"
    infile.write_text(RECORD, encoding="utf-8")
    settings = Settings(database_url=db)
    async with open_store(settings) as store:
        await import_org(store, EXAMPLE_ORG)
        service = Service(settings, store, [])
        await service.start(http=False)
        try:
            result = linli("replay", str(infile), env={"LINLI_DATABASE_URL": db})
        finally:
            await service.stop()
    assert result.returncode == 2
    assert "linli run" in result.stderr
    assert result.stdout == ""
    again = linli("replay", str(infile), env={"LINLI_DATABASE_URL": db})  # stopped: the lease is gone
    assert again.returncode == 0, again.stderr
    assert {json.loads(line)["in_reply_to"] for line in again.stdout.splitlines()} == {"m1"}


def test_replay_refuses_when_real_platforms_are_configured(tmp_path: Path, db: str) -> None:
    infile = tmp_path / "in.jsonl"
    infile.write_text(RECORD, encoding="utf-8")
    env = {"LINLI_DATABASE_URL": db, "LINLI_WECHATY__ENDPOINT": "127.0.0.1:1"}
    result = linli("replay", str(infile), env=env)
    assert result.returncode == 2
    assert "wechaty" in result.stderr


def test_demo_keeps_its_own_database(tmp_path: Path, db: str) -> None:
    env = {"LINLI_DATABASE_URL": db}
    assert linli("org", "import", str(TWO_COMMUNITIES), env=env).returncode == 0
    before = json.loads(linli("org", "show", "--json", env=env).stdout)
    result = linli("demo", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(linli("org", "show", "--json", env=env).stdout) == before  # nobody retired
    assert json.loads(linli("tickets", "list", "--json", env=env).stdout) == []
    assert Path(tmp_path / "linli-demo.db").exists()
