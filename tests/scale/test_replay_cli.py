"""``linli replay --out -``: stdout stays the actions alone; the figures go to stderr, no bar off a terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import EXAMPLE_ORG
from tests.scale.cluster import linli

LINES = [
    {"chat_id": "sim-sdc-3", "sender_id": "r1", "text": "6楼走廊灯坏了", "time": "2026-11-16T09:00:00+08:00"},
    {"chat_id": "sim-sdc-3", "sender_id": "r2", "text": "谢谢楼长", "time": "2026-11-16T09:01:00+08:00"},
    {"chat_id": "sim-lxc-5", "sender_id": "r3", "text": "门口垃圾没人收", "time": "2026-11-16T09:02:00+08:00"},
]


def test_replay_prints_its_figures_on_stderr_and_keeps_stdout_for_actions(tmp_path: Path) -> None:
    infile = tmp_path / "in.jsonl"
    infile.write_text(
        "".join(
            json.dumps({"platform": "sim", "message_id": f"m{n}", **line}, ensure_ascii=False) + "\n"
            for n, line in enumerate(LINES)
        ),
        encoding="utf-8",
    )
    env = {"LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", "LINLI_ORG_FILE": str(EXAMPLE_ORG)}
    result = linli("replay", str(infile), "--out", "-", env=env)
    assert result.returncode == 0, result.stderr
    actions = [json.loads(line) for line in result.stdout.splitlines()]
    assert {a["in_reply_to"] for a in actions} == {"m0", "m2"}
    summary = re.search(
        r"replayed 3 message\(s\) in [\d.]+ s: \d+ messages/s, 2 ticket\(s\) opened, "
        r"time per message p50 [\d.]+ ms, p99 [\d.]+ ms",
        result.stderr,
    )
    assert summary is not None, result.stderr
    assert "━" not in result.stderr  # no progress bar when stderr is not a terminal


def test_on_a_terminal_replay_draws_a_progress_bar_on_stderr_only(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    infile = tmp_path / "in.jsonl"
    infile.write_text(
        "".join(
            json.dumps({"platform": "sim", "message_id": f"m{n}", **line}, ensure_ascii=False) + "\n"
            for n, line in enumerate(LINES)
        ),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env |= {"LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", "LINLI_ORG_FILE": str(EXAMPLE_ORG)}
    master, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "replay", str(infile), "--out", "-"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    stdout, _ = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 0
    assert next(json.loads(line)["in_reply_to"] for line in stdout.decode().splitlines()) == "m0"
    assert b"replay" in drawn
    assert "━".encode() in drawn  # the bar
    assert b"messages/s" in drawn
