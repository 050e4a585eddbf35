"""The stable command-line contracts: replay, tickets list, demo, settings errors, run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.cli.replay import DEMO_SCRIPT
from tests.conftest import EXAMPLE_ORG


def linli(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")} | env
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=full_env, input=stdin, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", "LINLI_ORG_FILE": str(EXAMPLE_ORG)}


def test_replay_writes_every_action_and_is_idempotent(tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "actions.jsonl"
    first = linli("replay", str(DEMO_SCRIPT), "--out", str(out), env=env)
    assert first.returncode == 0, first.stderr
    actions = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    message_ids = {json.loads(line)["message_id"] for line in DEMO_SCRIPT.read_text(encoding="utf-8").splitlines()}
    assert actions
    assert any(a["in_reply_to"] is not None for a in actions)
    for action in actions:
        # Scheduled actions (reminders, the Monday digest) crossed by the recorded clock answer no message.
        assert action["in_reply_to"] in message_ids or action["in_reply_to"] is None
        assert action["kind"] in ("say", "dm")
        assert ("chat_id" in action) if action["kind"] == "say" else ("to" in action)
        assert action["text"]

    listed = linli("tickets", "list", "--json", env=env)
    tickets = json.loads(listed.stdout)
    assert len(tickets) >= 5
    assert set(tickets[0]) >= {"id", "state", "kind", "urgent", "domain", "unit", "assignee", "reporters", "opened_at"}
    assert any(t["kind"] == "major" for t in tickets)

    again = linli("replay", str(DEMO_SCRIPT), "--out", str(tmp_path / "again.jsonl"), env=env)
    assert again.returncode == 0
    assert (tmp_path / "again.jsonl").read_text() == ""
    assert json.loads(linli("tickets", "list", "--json", env=env).stdout) == tickets


def test_replay_stdout_is_json_only_and_bad_lines_are_named(tmp_path: Path, env: dict[str, str]) -> None:
    lines = [
        '{"platform": "sim", "chat_id": "sim-sdc-3", "sender_id": "r1", "sender_name": "陈生", '
        '"text": "6楼走廊灯坏了", "message_id": "m1", "time": "2026-11-16T09:00:00+08:00"}',
        "this is not json",
        '{"platform": "sim", "chat_id": "sim-sdc-3", "sender_id": "r2", "text": "x", "message_id": "m2", '
        '"time": "yesterday"}',
    ]
    infile = tmp_path / "in.jsonl"
    infile.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = linli("replay", str(infile), env=env)
    assert result.returncode == 0
    actions = [json.loads(line) for line in result.stdout.splitlines()]
    assert {a["in_reply_to"] for a in actions} == {"m1"}
    assert f"{infile}:2:" in result.stderr
    assert f"{infile}:3:" in result.stderr


def test_demo_prints_tickets_and_a_second_run_adds_none(env: dict[str, str]) -> None:
    env = {"LINLI_DATABASE_URL": env["LINLI_DATABASE_URL"]}
    first = linli("demo", "--database", env["LINLI_DATABASE_URL"], env=env)
    assert first.returncode == 0, first.stderr
    assert "工单" in first.stdout
    assert "已通知" in first.stdout
    # the residents' council and voice (docs/council.md): a needs round, a suggestion and its answer,
    # the lift from report through a household vote to the published result
    council = ("【每月需求征集】", "【楼长信箱】", "李杏珊 回复", "【户表决】", "【表决结果】")
    council += ("【决议公开】", "【结果公开】")
    assert [shown for shown in council if shown not in first.stdout] == []
    count = len(json.loads(linli("tickets", "list", "--json", env=env).stdout))
    assert count >= 5
    assert linli("demo", "--database", env["LINLI_DATABASE_URL"], env=env).returncode == 0
    assert len(json.loads(linli("tickets", "list", "--json", env=env).stdout)) == count


def test_interactive_demo_answers_a_typed_report(env: dict[str, str]) -> None:
    env = {"LINLI_DATABASE_URL": env["LINLI_DATABASE_URL"]}
    result = linli(
        "demo", "--interactive", "--database", env["LINLI_DATABASE_URL"], env=env, stdin="1\n陈生\n6楼走廊灯坏了\n"
    )
    assert result.returncode == 0, result.stderr
    assert "已记录 #1" in result.stdout


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("database_url: [unclosed\n", "not valid YAML"),
        ("no_such_key: 1\n", "no_such_key"),
        ("http: {port: -5}\n", "http.port"),
    ],
)
def test_broken_settings_file_exits_2_naming_the_file(tmp_path: Path, content: str, needle: str) -> None:
    config = tmp_path / "linli.yaml"
    config.write_text(content, encoding="utf-8")
    result = linli(
        "tickets",
        "list",
        "--json",
        env={"LINLI_CONFIG": str(config), "LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"},
    )
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert needle in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "x.db").exists()


def test_settings_come_from_env_over_yaml(tmp_path: Path) -> None:
    from config.settings import load_settings

    config = tmp_path / "linli.yaml"
    config.write_text("http: {port: 9000, host: 127.0.0.1}\ndatabase_url: sqlite+aiosqlite:///a.db\n")
    os.environ["LINLI_CONFIG"] = str(config)
    os.environ["LINLI_HTTP__PORT"] = "9100"
    try:
        settings = load_settings()
    finally:
        del os.environ["LINLI_CONFIG"], os.environ["LINLI_HTTP__PORT"]
    assert settings.http.port == 9100
    assert settings.database_url == "sqlite+aiosqlite:///a.db"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_healthz_and_stops_cleanly(env: dict[str, str], sig: signal.Signals) -> None:
    port, admin = _free_port(), _free_port()
    full_env = (
        {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
        | env
        | {"LINLI_HTTP__PORT": str(port), "LINLI_ADMIN__PORT": str(admin)}
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        body = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = json.loads(response.read())
            except OSError:
                time.sleep(0.2)
        assert body is not None, "healthz never answered"
        assert body == {"ok": True}  # no details on the public port
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/healthz", timeout=2) as response:
            details = json.loads(response.read())
        assert details["ok"] is True
        assert "sim" in details["adapters"]
        proc.send_signal(sig)
        proc.wait(timeout=20)
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
