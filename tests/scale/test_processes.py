"""Three real ``linli run`` processes, one real PostgreSQL: every message has exactly one outcome.

Each process serves its own groups (one account's share) and is fed over the simulated platform's HTTP
intake, as a platform would: a message is sent again until the process acknowledges that it is stored.
Leaders then accept, by direct message to another process, tickets opened through a third. One process
is killed with SIGKILL in the middle of its share and started again; later PostgreSQL goes away for 30
seconds in the middle of a burst. The processes sweep deadlines every 5 seconds and send the weekly digest
every minute, all at once. Afterwards: every message is stored once, every ticket opened once, every
reminder and digest sent once, every outbox item sent by the account that hears its group, nothing left.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.engine import create_engine, session_factory
from storage.models import JobRun, Message, OutboxItem, OutboxStatus, Ticket, TicketReminder, TicketState
from tests.conftest import EXAMPLE_ORG
from tests.postgres import PostgresServer
from tests.scale.cluster import LinliProcess, deliver, linli, write_config

T = TypeVar("T")

SHARES = {"p1": ("sim-sdc-3", "sim-sdc-1"), "p2": ("sim-jjhy-a",), "p3": ("sim-lxc-5", "sim-sdc")}
"""Which process hears which groups: one account's share of the traffic each."""
GROUP_OF = {chat: name for name, chats in SHARES.items() for chat in chats}
PROBLEMS = ("楼道灯不亮", "门口垃圾没人收", "门禁刷不开", "宽带断了上不了网", "门口下水道堵了", "门口有老鼠")
CHATTER = ("谢谢楼长", "收到", "大家晚上好", "今天好热", "辛苦了", "周末愉快")
REPORTS_PER_GROUP = 8
OUTAGE_SECONDS = 30


def query(url: str, read: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session:
                return await read(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


class Traffic:
    """Recorded messages three hours in the past, so that their tickets' first reminders are due now."""

    def __init__(self) -> None:
        self.clock = datetime.now(UTC) - timedelta(hours=3)
        self.count = 0

    def record(self, chat_id: str, sender: str, text: str) -> dict[str, Any]:
        self.count += 1
        self.clock += timedelta(seconds=1)
        return {
            "platform": "sim",
            "chat_id": chat_id,
            "sender_id": sender,
            "sender_name": f"街坊{sender}",
            "text": text,
            "message_id": f"m-{self.count}",
            "time": self.clock.isoformat(),
        }

    def share(self, chats: tuple[str, ...], start: int) -> tuple[list[dict[str, Any]], set[str]]:
        """Distinct reports (different rooms never merge), one repeat per group, and chatter; the ids of the
        messages that report a new problem."""
        out, reports = [], set()
        for chat in chats:
            first = None
            for k in range(REPORTS_PER_GROUP):
                report = self.record(chat, f"{chat}-r{k}", f"{start + k}室{PROBLEMS[k % len(PROBLEMS)]}")
                first = first or report
                out.append(report)
                reports.add(report["message_id"])
                out.append(self.record(chat, f"{chat}-c{k}", CHATTER[k % len(CHATTER)]))
            assert first is not None
            out.append(self.record(chat, f"{chat}-again", first["text"]))  # a neighbour adds a voice: it joins
        return out, reports


def test_three_processes_on_one_postgres_do_everything_exactly_once(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    url = own_postgres.fresh_database_url()
    env = {"LINLI_DATABASE_URL": url}
    assert linli("db", "upgrade", env=env).returncode == 0
    imported = linli("org", "import", str(EXAMPLE_ORG), env=env)
    assert imported.returncode == 0, imported.stderr
    config = write_config(tmp_path / "linli.yaml", url)
    processes = {name: LinliProcess(name, config, tmp_path) for name in SHARES}
    traffic = Traffic()
    answers: dict[str, dict[str, Any]] = {}
    try:
        for process in processes.values():
            process.start()
        for process in processes.values():
            assert process.wait_ready()["ok"] is True

        # Phase 1: each process its share; p2 is killed half-way through its own and started again.
        shares = {name: traffic.share(chats, 1000 * (i + 1)) for i, (name, chats) in enumerate(SHARES.items())}
        halfway = threading.Event()

        def feed(name: str, records: list[dict[str, Any]]) -> None:
            for index in deliver(processes[name], records, answers):
                if name == "p2" and index == len(records) // 2:
                    halfway.set()

        with ThreadPoolExecutor(3) as pool:
            done = [pool.submit(feed, name, records) for name, (records, _) in shares.items()]
            assert halfway.wait(timeout=300)
            processes["p2"].kill()
            processes["p2"].start()
            processes["p2"].wait_ready()
            for future in done:
                future.result(timeout=600)

        async def tickets_of(session: AsyncSession) -> dict[str, int]:
            rows = await session.execute(select(Message.message_id, Message.ticket_id))
            return {mid: tid for mid, tid in rows.all() if tid is not None}

        ticket_of = query(url, tickets_of)
        opened = {
            name: [ticket_of[mid] for mid in sorted(reports, key=lambda m: int(m[2:]))]
            for name, (_, reports) in shares.items()
        }

        # Phase 2: leaders accept by direct message, each through a process that did not open the ticket,
        # with a burst of chatter; PostgreSQL goes away for a while in the middle of it.
        commands = {
            "p2": [traffic.record("dm", "lixingshan", f"接单 #{t}") for t in opened["p1"][:REPORTS_PER_GROUP]],
            "p3": [traffic.record("dm", "mai", f"接单 #{t}") for t in opened["p2"]],
            "p1": [traffic.record("dm", "feng", f"接单 #{t}") for t in opened["p3"][:REPORTS_PER_GROUP]],
        }
        burst = {
            name: [traffic.record(chat, f"{chat}-b{k}", CHATTER[k % len(CHATTER)]) for chat in chats for k in range(12)]
            for name, chats in SHARES.items()
        }
        with ThreadPoolExecutor(3) as pool:
            before = [pool.submit(lambda n=name: list(deliver(processes[n], commands[n], answers))) for name in SHARES]
            for future in before:
                future.result(timeout=600)
            own_postgres.pause()
            during = [pool.submit(lambda n=name: list(deliver(processes[n], burst[n], answers))) for name in SHARES]
            time.sleep(OUTAGE_SECONDS)  # the burst waits for the database, in the processes
            assert not any(future.done() for future in during)
            own_postgres.resume()
            for future in during:
                future.result(timeout=600)

        # Let the sweeps, the outbox workers and the minute's digest finish. What was due when the service
        # settled must have gone out; a reminder falling due after that instant may still be pending.
        as_of = [datetime.now(UTC)]

        def settled(session: AsyncSession) -> Awaitable[tuple[int, int]]:
            async def read() -> tuple[int, int]:
                pending = await session.scalar(
                    select(func.count())
                    .select_from(OutboxItem)
                    .where(
                        OutboxItem.platform == "sim",
                        OutboxItem.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                        OutboxItem.not_before <= as_of[-1],
                    )
                )
                digests = await session.scalar(select(func.count()).select_from(JobRun).where(JobRun.job == "digest"))
                return int(pending or 0), int(digests or 0)

            return read()

        async def waiting(session: AsyncSession) -> list[tuple[Any, ...]]:
            rows = await session.execute(
                select(
                    OutboxItem.id, OutboxItem.kind, OutboxItem.status, OutboxItem.account, OutboxItem.claimed_by
                ).where(OutboxItem.platform == "sim", OutboxItem.status.in_(["pending", "sending"]))
            )
            return [tuple(row) for row in rows.all()]

        deadline = time.monotonic() + 180
        while query(url, settled) != (0, 1):
            assert time.monotonic() < deadline, (
                f"never settled: {query(url, settled)} {query(url, waiting)}\n"
                + "\n".join(f"--- {p.name}:\n{p.log_tail(20)}" for p in processes.values())
            )
            time.sleep(1)
            as_of.append(datetime.now(UTC))
        for process in processes.values():
            assert process.health() == (200, {"ok": True})
    finally:
        for process in processes.values():
            process.stop()

    async def stored(session: AsyncSession) -> dict[str, Any]:
        messages = (await session.execute(select(Message.message_id, Message.ticket_id))).all()
        tickets = (await session.scalars(select(Ticket))).all()
        outbox = (await session.scalars(select(OutboxItem).where(OutboxItem.platform == "sim"))).all()
        reminders = (await session.scalars(select(TicketReminder))).all()
        return {"messages": messages, "tickets": tickets, "outbox": outbox, "reminders": reminders}

    db = query(url, stored)

    # Every message: acknowledged, stored once.
    assert set(answers) == {f"m-{n}" for n in range(1, traffic.count + 1)}
    assert Counter(mid for mid, _ in db["messages"]) == Counter(answers.keys())
    # Every ticket opened once: one per distinct report; the repeats joined the first report's ticket.
    reports = {mid for _, ids in shares.values() for mid in ids}
    ticket_of = dict(db["messages"])
    assert len(db["tickets"]) == len(reports) == len({ticket_of[mid] for mid in reports})
    assert all(len(t.reporters) in (1, 2) for t in db["tickets"])
    assert sum(len(t.reporters) for t in db["tickets"]) == len(reports) + sum(len(c) for c in SHARES.values())
    # The commands sent through another process took effect.
    accepted = {t.id for t in db["tickets"] if t.state == TicketState.ACCEPTED}
    assert {*opened["p1"][:REPORTS_PER_GROUP], *opened["p2"], *opened["p3"][:REPORTS_PER_GROUP]} <= accepted

    # Every reminder recorded once and sent once: each ticket that waited got its half-way reminder.
    assert Counter((r.ticket_id, r.cycle, r.step) for r in db["reminders"]).most_common(1)[0][1] == 1
    reminded = {r.ticket_id for r in db["reminders"] if r.action == "remind" and r.status == "sent"}
    assert reminded

    # Every outbox item sent once, by the process whose account hears its group; nothing left pending.
    # The killed process may have died mid-send: what it was sending is 'unknown', never sent twice.
    logs = {name: process.sent() for name, process in processes.items()}
    lines = Counter(
        (entry["kind"], entry.get("chat_id") or entry.get("to"), entry["text"])
        for log in logs.values()
        for entry in log
    )
    assert max(lines.values()) == 1, [line for line, n in lines.items() if n > 1][:3]
    statuses = Counter(item.status for item in db["outbox"] if item.not_before <= as_of[-1])
    assert set(statuses) <= {OutboxStatus.SENT, OutboxStatus.UNKNOWN}, statuses
    assert all(item.claimed_by == "p2" for item in db["outbox"] if item.status == OutboxStatus.UNKNOWN)
    sent = Counter((i.kind, i.chat_id or i.recipient, i.text) for i in db["outbox"] if i.status == OutboxStatus.SENT)
    unknown = Counter((i.kind, i.chat_id or i.recipient, i.text) for i in db["outbox"] if i.status == "unknown")
    assert sent <= lines  # everything marked sent was sent...
    assert lines <= sent + unknown  # ...and nothing else, but perhaps what was in flight when p2 died
    for name, log in logs.items():
        said_in = {entry["chat_id"] for entry in log if entry["kind"] == "say"}
        assert said_in <= set(SHARES[name]), (name, said_in)

    # The weekly digest: once per group, whichever process claimed it.
    digests = Counter(entry["chat_id"] for log in logs.values() for entry in log if entry["topic"] == "digest")
    assert digests == dict.fromkeys(GROUP_OF, 1)
