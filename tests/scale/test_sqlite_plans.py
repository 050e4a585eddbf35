"""On SQLite too, a batch's lookups by (platform, id) walk their unique index instead of scanning it whole,
and retention reads through its partial index.

tests/scale/test_explain.py reads PostgreSQL's plans; SQLite plans some statements differently (a row-value
``IN (VALUES ...)`` is a scan of the whole index there), and the embedded default keeps months of messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service, Store
from bot.job_runner import JobRunner
from config.settings import Settings
from handlers.retention import purge_old_messages
from tests.conftest import Chat

Sim = tuple[Service, SimulatedAdapter]
LOOKUPS = ("SELECT messages.platform", "SELECT chat_groups.", "SELECT identities.platform")
"""The duplicate check, and the batch's groups and senders (OrgRepo.warm)."""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL's plans: test_explain.py
async def test_a_batch_looks_up_messages_groups_and_senders_through_their_indexes(sim: Sim) -> None:
    service, _ = sim
    chats = [Chat("sim-sdc-3"), Chat("sim-sdc-1")]
    messages = [chats[k % 2].msg(f"r-{k}", "收到", message_id=f"dup-{k}") for k in range(4)]
    seen: dict[str, tuple[str, Any]] = {}

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        start = " ".join(statement.split())
        for lookup in LOOKUPS:
            if start.startswith(lookup) and " IN " in start:
                seen[lookup] = (statement, parameters)

    engine = service.store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        await service.pipeline.feed_many([(m, m.time) for m in messages])
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert set(seen) == set(LOOKUPS)
    async with service.store.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        for lookup, (statement, parameters) in seen.items():
            plan = [str(row[-1]) for row in await raw.execute_fetchall(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            assert any(step.startswith("SEARCH") for step in plan), (lookup, plan)
            assert not any(step.startswith("SCAN") for step in plan), (lookup, plan)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_retention_reads_through_its_partial_index(store: Store, settings: Settings) -> None:
    """The daily retention run finds what it must delete or empty through ix_messages_retention, which leaves
    out the emptied rows kept for tickets, and the old replies through the outbox's ``not_before`` (PostgreSQL's
    plans: test_explain.py)."""
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if " ".join(statement.split()).startswith(("SELECT messages.id", "SELECT outbox.id")):
            seen.append((statement, parameters))

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        await JobRunner(store.sessions, settings).run(purge_old_messages, datetime(2026, 12, 1, tzinfo=UTC))
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    [(messages, message_parameters), (outbox, outbox_parameters)] = seen
    async with store.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        plan = [
            str(row[-1]) for row in await raw.execute_fetchall(f"EXPLAIN QUERY PLAN {messages}", message_parameters)
        ]
        replies = [
            str(row[-1]) for row in await raw.execute_fetchall(f"EXPLAIN QUERY PLAN {outbox}", outbox_parameters)
        ]
    assert any("ix_messages_retention" in step for step in plan), plan
    assert any("ix_outbox_not_before (not_before<?)" in step for step in replies), replies
