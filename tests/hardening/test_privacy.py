"""`linli privacy export|erase --person ID`: a resident's data, and its erasure that keeps the tickets."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import EXAMPLE_ORG
from tests.core.test_cli import linli

LINES = [
    {
        "platform": "sim",
        "chat_id": "sim-sdc-3",
        "sender_id": "r-zhang",
        "sender_name": "张阿姨",
        "text": "6楼走廊灯坏了，我电话13812345678",
        "message_id": "m1",
        "time": "2026-11-16T09:00:00+08:00",
    },
    {
        "platform": "sim",
        "chat_id": "sim-sdc-3",
        "sender_id": "r-li",
        "sender_name": "李叔",
        "text": "六楼走廊灯还是不亮",
        "message_id": "m2",
        "time": "2026-11-16T09:05:00+08:00",
    },
]


def test_export_then_erase_keeps_the_ticket_without_the_person(tmp_path: Path) -> None:
    env = {"LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", "LINLI_ORG_FILE": str(EXAMPLE_ORG)}
    infile = tmp_path / "in.jsonl"
    infile.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in LINES), encoding="utf-8")
    assert linli("replay", str(infile), env=env).returncode == 0

    exported = linli("privacy", "export", "--person", "sim:r-zhang", env=env)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert [m["message_id"] for m in data["messages"]] == ["m1"]
    assert data["reports"][0]["ticket"] == 1
    assert "13812345678" not in exported.stderr  # the log line is masked

    erased = linli("privacy", "erase", "--person", "sim:r-zhang", "--yes", env=env)
    assert erased.returncode == 0, erased.stderr
    tickets = json.loads(linli("tickets", "list", "--json", env=env).stdout)
    assert len(tickets) == 1
    assert "r-zhang" not in tickets[0]["reporters"]
    assert "r-li" in tickets[0]["reporters"]
    shown = linli("tickets", "show", "1", "--json", env=env).stdout
    assert "张阿姨" not in shown
    assert "13812345678" not in shown
    again = json.loads(linli("privacy", "export", "--person", "sim:r-zhang", env=env).stdout)
    assert again["messages"] == []
    assert again["reports"] == []

    import sqlite3

    with sqlite3.connect(tmp_path / "p.db") as db:
        texts = [row[0] for row in db.execute("SELECT text FROM messages")]
        audit = [row[0] for row in db.execute("SELECT action FROM audit_log ORDER BY id")]
        outbox = " ".join(row[0] for row in db.execute("SELECT text FROM outbox"))
    assert not any("13812345678" in t or "灯坏了，我" in t for t in texts)
    assert "张阿姨" not in outbox
    assert audit == ["export", "erase", "export"]


def test_an_unknown_person_is_refused(tmp_path: Path) -> None:
    env = {"LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"}
    result = linli("privacy", "erase", "--person", "nobody", "--yes", env=env)
    assert result.returncode == 1
    assert "nobody" in result.stderr
