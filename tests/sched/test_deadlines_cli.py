"""``linli deadlines run`` from the outside, and two OS processes sweeping one database."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import func, select

from storage.models import JobRun, OutboxItem, TicketReminder
from tests.sched.conftest import Desk, at

ROOT = Path(__file__).resolve().parents[2]


def linli(db_url: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env["LINLI_DATABASE_URL"] = db_url
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def lines(proc: subprocess.Popen[str]) -> list[dict[str, object]]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


async def test_run_prints_json_lines_and_a_second_run_does_nothing(desk: Desk, db_url: str) -> None:
    tid = await desk.open(at("2026-11-16 09:00"))
    await desk.open(at("2026-11-16 09:00"), unit="sdc", chat="sim-sdc", assignee="p-tan")
    now = "2026-11-16T13:30:00+08:00"
    first = lines(linli(db_url, "deadlines", "run", "--now", now, "--json"))
    assert [(r["ticket"], r["action"], r["to"], r["level"]) for r in first] == [
        (tid, "escalate", "p-tan", 1),
        (tid + 1, "escalate", "p-chen", 1),
        (tid + 1, "escalate", "p-huang", 1),
    ]
    assert all(set(r) == {"ticket", "action", "to", "level", "text", "send_at"} for r in first)
    assert {r["send_at"] for r in first} == {now}  # in working hours: at once
    assert lines(linli(db_url, "deadlines", "run", "--now", now, "--json")) == []
    # A naive --now is read in Asia/Shanghai.
    assert lines(linli(db_url, "deadlines", "run", "--now", "2026-11-16T13:30", "--json")) == []


async def test_send_at_says_when_the_quiet_hours_hold_a_line(desk: Desk, db_url: str) -> None:
    tid = await desk.open(at("2026-11-16 19:00"))  # deadline 23:00, escalation at 23:30: in the quiet hours
    urgent = await desk.open(at("2026-11-16 23:00"), kind="major", urgent=True, domain="安全管理")
    lines_ = lines(linli(db_url, "deadlines", "run", "--now", "2026-11-16T23:50:00+08:00", "--json"))
    by_ticket = {(r["ticket"], r["action"]): r["send_at"] for r in lines_}
    assert by_ticket[(tid, "escalate")] == "2026-11-17T08:00:00+08:00"  # held until the morning
    assert by_ticket[(urgent, "escalate")] == "2026-11-16T23:50:00+08:00"  # urgent: never held


@contextlib.asynccontextmanager
async def write_lock(desk: Desk, db_url: str) -> AsyncIterator[None]:
    """Hold the sweep's lock (SQLite: the database's write lock) until the block ends."""
    if db_url.startswith("sqlite"):
        gate = sqlite3.connect(db_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
        gate.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            gate.execute("COMMIT")
            gate.close()
        return
    async with desk.store.engine.connect() as conn, conn.begin():
        await conn.execute(select(JobRun).where(JobRun.job == "deadlines").with_for_update())
        yield


async def test_two_processes_sweeping_one_database_send_each_reminder_once(desk: Desk, db_url: str) -> None:
    opened = [await desk.open(at("2026-11-16 09:00")) for _ in range(150)]
    opened += [
        await desk.open(at("2026-11-16 11:00"), unit="lxc-5", chat="sim-lxc-5", assignee="p-feng") for _ in range(150)
    ]
    await desk.sweep(at("2026-11-16 11:00"))  # the first 150 get their half-way reminder now
    now = "2026-11-16T13:30:00+08:00"  # first 150 escalate, the other 150 get the half-way reminder
    # Hold the lock until both processes are about to sweep, so that they overlap.
    async with write_lock(desk, db_url):
        procs = [linli(db_url, "-v", "deadlines", "run", "--now", now, "--json") for _ in range(2)]
        for proc in procs:
            assert proc.stderr is not None
            for line in proc.stderr:
                if "sweeping deadlines at" in line:
                    break
    records = [r for proc in procs for r in lines(proc)]
    keys = Counter((r["ticket"], r["action"], r["to"]) for r in records)
    assert len(keys) == 300
    assert set(keys.values()) == {1}
    assert Counter(r["action"] for r in records) == {"escalate": 150, "remind": 150}
    async with desk.store.sessions() as s:
        recorded = await s.execute(
            select(TicketReminder.action, TicketReminder.status, func.count()).group_by(
                TicketReminder.action, TicketReminder.status
            )
        )
        outbox = await s.scalar(select(func.count()).select_from(OutboxItem))
    # 150 half-way reminders at 11:00 and 150 at 13:30; the 13:00 reminders were overtaken by the escalations.
    assert {(a, st): n for a, st, n in recorded.all()} == {
        ("remind", "sent"): 300,
        ("remind", "skipped"): 150,
        ("escalate", "sent"): 150,
    }
    assert outbox == 150 * 2 + 150 + 150 * 2
    assert len(opened) == 300
