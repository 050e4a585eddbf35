"""Every hot query has an index: PostgreSQL's plans for what a busy evening runs, read with EXPLAIN.

A district's evening (reports, commands, photos, chatter) is replayed over a backlog of old tickets, then
the deadline sweep, auto-closing and the weekly digest run (the monthly council agenda is not hot). Every
statement they sent that reads or changes a table that grows with history is explained with its own
parameters and sequential scans priced out (``enable_seqscan = off``); reads are run too (and rolled back)
to count the rows they touched. A sequential scan, an index walked without a condition, or a read of more
rows than a busy evening needs fails the test, naming the statement and its plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, insert, select, text

from bench.workload import BACKLOG_DAYS, START, District, generate, preload
from bot.app import Store, import_org, open_store
from bot.cli.replay import replay
from bot.job_runner import JobRunner
from bot.message import IncomingMessage
from bot.recording import parse_record
from config.settings import Settings
from handlers.closing import close_resolved_tickets
from handlers.deadlines import sweep_deadlines
from handlers.digest import Week, compute, messages_for
from handlers.retention import purge_old_messages
from storage.models import Message, OutboxItem, OutboxStatus, Ticket
from tests.postgres import PostgresServer

GROWING = ("tickets", "messages", "outbox", "ticket_events", "ticket_reporters", "ticket_reminders", "points")


READ_LIMIT = 1_000
"""Rows one scan may read from a table that holds many times more (the backlog alone is 6,000 tickets)."""


def full_scans(node: dict[str, Any]) -> Iterator[str]:
    """The growing tables a plan reads whole: a sequential scan, an index walked without a condition, or
    (when the plan was run: EXPLAIN ANALYZE) more rows read than READ_LIMIT, even in order under a LIMIT."""
    table = node.get("Relation Name")
    kind = node["Node Type"]
    if table in GROWING:
        loops = node.get("Actual Loops", 1)
        read = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops
        walked = kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node
        if kind == "Seq Scan" or read > READ_LIMIT or (walked and "Actual Rows" not in node):
            yield f"{kind} on {table} ({read} rows read)"
    for child in node.get("Plans", []):
        yield from full_scans(child)


def records(district: District, first_ticket: int) -> Iterator[IncomingMessage]:
    workload = generate(district, 600, first_ticket=first_ticket, spacing=timedelta(seconds=5))
    for record in workload.records:
        yield parse_record(json.dumps(record, ensure_ascii=False))


async def evening(store: Store, settings: Settings, district: District, first_ticket: int) -> None:
    await replay(settings, store, records(district, first_ticket), lambda item: None)
    runner = JobRunner(store.sessions, settings)
    for hours in (3, 6, 80):
        await runner.run(sweep_deadlines, START + timedelta(hours=hours))
        await runner.run(close_resolved_tickets, START + timedelta(hours=hours))
    async with store.sessions() as session:
        week = Week.before(START + timedelta(days=7), ZoneInfo(settings.timezone))
        digest = await compute(session, settings, "c0", week)
        await messages_for(session, settings, digest, [])


@contextmanager
def capturing(store: Store) -> Iterator[dict[str, tuple[Any, ...]]]:
    """The statements sent meanwhile that read or change a growing table, each once with its first parameters."""
    sent: dict[str, tuple[Any, ...]] = {}

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("SELECT", "UPDATE", "DELETE") and any(table in statement for table in GROWING):
            first = parameters[0] if many else parameters  # executemany: one set explains them all
            sent.setdefault(statement, tuple(first or ()))

    event.listen(store.engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield sent
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", capture)


async def unindexed(store: Store, sent: dict[str, tuple[Any, ...]]) -> list[str]:
    """Each statement that scans a growing table, with its plan."""
    scans = []
    async with store.engine.connect() as conn:
        for statement, parameters in sent.items():
            # A read runs (and is rolled back) so that what it really read is counted; a write is planned.
            how = "ANALYZE, FORMAT JSON" if statement.lstrip().upper().startswith("SELECT") else "FORMAT JSON"
            transaction = await conn.begin()
            try:
                await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                explained = await conn.exec_driver_sql(f"EXPLAIN ({how}) " + statement, parameters)
                plan = explained.scalar_one()
            finally:
                await transaction.rollback()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            scanned = sorted(set(full_scans(plan[0]["Plan"])))
            if scanned:
                scans.append(f"{scanned}:\n{statement}\n{json.dumps(plan[0]['Plan'], indent=1)[:1500]}")
    return scans


async def test_no_hot_statement_scans_a_table_that_grows_with_history(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    settings = Settings(database_url=postgres_server.fresh_database_url())
    district = District(communities=4, estates=2, buildings=3)
    async with open_store(settings) as store:
        await import_org(store, district.write_org(tmp_path / "org.yaml"))
        first = await preload(store.sessions, district, 3_000)
        async with store.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        with capturing(store) as sent:
            await evening(store, settings, district, first)
        async with store.sessions() as session:
            assert int(await session.scalar(select(func.count()).select_from(Ticket)) or 0) > 6_000
        scans = await unindexed(store, sent)
    assert len(sent) > 30  # the evening really ran: reports, commands, sweeps, digest
    assert scans == [], "\n\n".join(scans)


async def test_retention_reads_what_it_removes_not_what_it_kept(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """Messages behind a ticket stay, emptied, and most of the table is younger than the retention period:
    a daily run reads the messages it has to delete or empty, not the whole table again each day."""
    settings = Settings(database_url=postgres_server.fresh_database_url())
    district = District(communities=4, estates=2, buildings=3)
    now = START + timedelta(days=settings.retention.messages_days - BACKLOG_DAYS // 2)
    async with open_store(settings) as store:
        await import_org(store, district.write_org(tmp_path / "org.yaml"))
        await preload(store.sessions, district, 3_000)
        await sent_replies(store, 4_000)
        runner = JobRunner(store.sessions, settings)
        await runner.run(purge_old_messages, now)  # batch after batch until nothing is left
        async with store.sessions() as session:
            kept = select(func.count()).select_from(Message)
            emptied = int(await session.scalar(kept.where(Message.text == "")) or 0)
            young = int(await session.scalar(kept.where(Message.sent_at >= now - timedelta(days=180))) or 0)
            replies = int(await session.scalar(select(func.count()).select_from(OutboxItem)) or 0)
        assert emptied > 1_000  # what later runs must not read again
        assert young > 5_000
        assert 1_500 < replies < 2_500  # the older half of the replies deleted, the younger half kept
        async with store.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        with capturing(store) as sent:
            await runner.run(purge_old_messages, now + timedelta(days=1))
        scans = await unindexed(store, sent)
    assert any("FROM messages" in statement for statement in sent)
    assert any("FROM outbox" in statement for statement in sent)
    assert scans == [], "\n\n".join(scans)


async def sent_replies(store: Store, count: int) -> None:
    """``count`` replies sent over the backlog's days, as the outbox keeps them until retention removes them."""
    span = timedelta(days=BACKLOG_DAYS)
    rows = []
    for k in range(count):
        at = START - span + span * k / count
        rows.append(
            {
                "created_at": at,
                "not_before": at,
                "sent_at": at,
                "platform": "sim",
                "kind": "say",
                "chat_id": "g",
                "text": "收到",
                "status": OutboxStatus.SENT,
            }
        )
    async with store.sessions.begin() as session:
        await session.execute(insert(OutboxItem), rows)
