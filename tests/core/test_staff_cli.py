"""Staff's CLI: tickets show/assign/close/export, lists, points; and auto-closing quiet resolved tickets."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.app import Service
from bot.cli import main
from handlers.closing import close_resolved_tickets
from storage.models import OutboxItem, Ticket
from tests.conftest import EXAMPLE_ORG, Chat

REPORTS = [
    ("sim-sdc-3", "r-chen", "6楼走廊灯坏了"),
    ("sim-sdc-1", "r-zhao", "门口垃圾两天没人收了，好臭"),
    ("sim-lxc-5", "r-huo", "家里宽带坏了，上不了网"),
]


@pytest.fixture
def db(tmp_path: Path) -> dict[str, str]:
    env = {"LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'staff.db'}"}
    lines = []
    for n, (chat, sender, text) in enumerate(REPORTS, 1):
        lines.append(
            json.dumps(
                {
                    "platform": "sim",
                    "chat_id": chat,
                    "sender_id": sender,
                    "sender_name": sender,
                    "text": text,
                    "message_id": f"m{n}",
                    "time": f"2026-11-16T09:0{n}:00+08:00",
                }
            )
        )
    lines.append(
        json.dumps(
            {
                "platform": "sim",
                "chat_id": "sim-lxc-5",
                "sender_id": "feng",
                "sender_name": "冯伯",
                "text": "派单 #3 电信",
                "message_id": "m9",
                "time": "2026-11-16T09:30:00+08:00",
            }
        )
    )
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["org", "import", str(EXAMPLE_ORG)], env=env).exit_code == 0
    assert runner.invoke(main, ["replay", str(tmp_path / "in.jsonl")], env=env).exit_code == 0
    return env


def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_filters(db: dict[str, str]) -> None:
    by_estate = json.loads(cli(db, "tickets", "list", "--json", "--estate", "sdc")[1])
    assert sorted(t["unit"] for t in by_estate) == ["sdc-1", "sdc-3"]
    by_building = json.loads(cli(db, "tickets", "list", "--json", "--building", "lxc-5")[1])
    assert [t["id"] for t in by_building] == [3]
    assert json.loads(cli(db, "tickets", "list", "--json", "--state", "closed")[1]) == []


def test_show_assign_close_and_history(db: dict[str, str]) -> None:
    code, _, err = cli(db, "tickets", "assign", "1", "nobody")
    assert code == 1
    assert "unknown person" in err
    assert cli(db, "tickets", "assign", "1", "p-he", "--by", "p-chen")[0] == 0
    code, _, err = cli(db, "tickets", "close", "1")
    assert code == 1
    assert "cannot close" in err
    shown = json.loads(cli(db, "tickets", "show", "1", "--json")[1])
    assert shown["assignee"] == "p-he"
    assert [h["action"] for h in shown["history"]] == ["open", "assign", "transfer"]
    assert cli(db, "tickets", "show", "99")[0] == 1
    assert "transfer" in cli(db, "tickets", "show", "1")[1]


def test_assign_from_the_command_line_tells_people_as_转派_does(db: dict[str, str]) -> None:
    assert cli(db, "tickets", "assign", "1", "p-he", "--by", "p-chen")[0] == 0
    url = db["LINLI_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(url) as conn:
        rows = conn.execute(
            "SELECT kind, chat_id, recipient, text, status FROM outbox WHERE ticket_id = 1 AND in_reply_to IS NULL"
        ).fetchall()
    assert [(kind, chat or to) for kind, chat, to, _, _ in rows] == [("say", "sim-sdc-3"), ("dm", "he")]
    assert "转派给 何秀英" in rows[0][3]
    assert "陈志华 把 #1" in rows[1][3]  # the new assignee hears who handed it over, as with 转派 in chat
    assert {status for *_, status in rows} == {"pending"}  # queued for the running service to send


def test_export_is_a_ledger(db: dict[str, str]) -> None:
    code, out, _ = cli(db, "tickets", "export", "--csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["编号", "状态", "类别"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]


def test_three_lists_and_points(db: dict[str, str]) -> None:
    data = json.loads(cli(db, "lists", "--json")[1])
    assert {"unit": "中国电信三水分公司", "resource": "宽带维修", "domain": "日常生活"} in data["resources"]
    assert [s["ticket"] for s in data["services"]] == [3]
    assert sum(n["open"] for n in data["needs"]) == 3
    assert json.loads(cli(db, "points", "--json")[1]) == []


async def test_resolved_ticket_closes_when_nobody_objects(sim: tuple[Service, object]) -> None:
    service, _ = sim
    store = service.store
    chat = Chat("sim-sdc-3")
    await service.receive(chat.msg("r-chen", "6楼走廊灯坏了"))
    resolved = chat.msg("lixingshan", "办结 #1 已修")
    await service.receive(resolved)
    hours = service.settings.tickets.auto_close_hours

    async def closing(at: datetime) -> list[str]:
        await service.jobs.run(close_resolved_tickets, at)
        async with store.sessions() as session:
            rows = await session.scalars(select(OutboxItem.text).where(OutboxItem.text.contains("自动关闭")))
            return list(rows.all())

    assert await closing(resolved.time + timedelta(hours=hours - 1)) == []
    assert len(await closing(resolved.time + timedelta(hours=hours))) == 1
    assert len(await closing(resolved.time + timedelta(hours=hours))) == 1  # once
    async with store.sessions() as session:
        ticket = await session.get(Ticket, 1)
        assert ticket is not None
        assert ticket.state == "closed"


def test_overdue_filter(db: dict[str, str]) -> None:
    # The fixture's tickets were opened on 2026-11-16; by now (the real clock) every accept deadline has passed.
    overdue = json.loads(cli(db, "tickets", "list", "--json", "--overdue")[1])
    assert sorted(t["id"] for t in overdue) == [1, 2, 3]
    assert cli(db, "tickets", "assign", "1", "p-he")[0] == 0  # a new window starts for the new assignee
    overdue_now = {t["id"] for t in json.loads(cli(db, "tickets", "list", "--json", "--overdue")[1])}
    assert 2 in overdue_now
